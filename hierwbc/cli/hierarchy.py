"""``hierwbc hierarchy``: print, check or convert a hierarchy file."""

HELP = "print, check or convert a hierarchy file"


def add_arguments(p) -> None:
    p.add_argument("path", nargs="?", default=None, help=".json or .nwk file (default: the built-in tree)")
    p.add_argument("--labels", action="store_true", help="show display labels")
    p.add_argument("--write", default=None, help="write it to this .json/.nwk file")


def run(args) -> None:
    from ..hierarchy import Hierarchy, default_hierarchy

    h = Hierarchy.read(args.path) if args.path else default_hierarchy()
    print(h.ascii(labels=args.labels))
    print(f"\n{len(h.nodes)} nodes, {len(h.leaves)} leaves, {len(h.lineages)} lineages, "
          f"label maps: {', '.join(sorted(h.label_maps)) or 'none'}")
    if args.write:
        print(f"written: {h.write(args.write)}")
