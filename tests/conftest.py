import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The tests import this checkout as `patchwarden` (and so do the CLI processes they start, through
# PYTHONPATH), whatever version of patchwarden is installed.
_spec = importlib.util.spec_from_file_location("_pw_devpath", ROOT / "scripts" / "devpath.py")
_devpath = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_devpath)
_devpath.use(ROOT)
