"""`python -m fupin_audit`.

`python -m` puts the working folder first on sys.path; a `typer.py` or `pandas.py` lying in the
folder being audited would then be imported and run. Drop that entry before importing anything else
(the console script `fupin-audit` never had it).
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from fupin_audit.cli.start import run

if __name__ == "__main__":
    run()
