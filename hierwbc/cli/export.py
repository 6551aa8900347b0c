"""``hierwbc export``: a run's teacher backbone (and supervised head) -> fp16 .safetensors."""

HELP = "a run's teacher backbone (and supervised head) -> fp16 .safetensors"


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="a training checkpoint (runs/.../checkpoints/step_NNNNNN.pt)")
    p.add_argument("--out", required=True, help="the .safetensors file to write (at most 25 MiB)")
    p.add_argument("--head", action="store_true", help="include the supervised head (a classifier)")
    p.add_argument("--ssl-heads", action="store_true",
                   help="include the teacher's DINO and iBOT heads (carried by continued training)")


def run(args):
    from ..train.export import export_weights

    path = export_weights(args.checkpoint, args.out, head=args.head, ssl_heads=args.ssl_heads)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return path
