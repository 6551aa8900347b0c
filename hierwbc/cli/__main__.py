"""``python -m hierwbc.cli ...`` (what torchrun and the SLURM script start)."""

import sys

from . import main

sys.exit(main())
