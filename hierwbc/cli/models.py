"""``hierwbc models``: the shipped models, one line each; ``hierwbc models NAME``: its card
(:mod:`hierwbc.models.cards`)."""

HELP = "list the shipped models, or print one's card"


def add_arguments(p) -> None:
    p.add_argument("name", nargs="?", default=None, help="a shipped model's short name: print its card")


def run(args) -> None:
    from ..models.cards import list_models, model_card
    from ..models.registry import DEFAULT_CLASSIFIER

    if args.name:
        print(model_card(args.name), end="")
        return
    table = list_models()
    width = max(map(len, table.index))
    for name, row in table.iterrows():
        mark = " (predict's default)" if name == DEFAULT_CLASSIFIER else ""
        print(f"{name:<{width}}  {row['what']}{mark}")
    print("\n`hierwbc models NAME` prints a model's card; any of these names works wherever a model is taken.")
