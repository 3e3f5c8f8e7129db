"""``python -m smkit.backends.local.jobs ROOT NAME``: the supervisor process."""

import sys

from smkit.backends.local.jobs.supervisor import run_supervisor

if __name__ == "__main__":
    sys.exit(run_supervisor(sys.argv[1], sys.argv[2]))
