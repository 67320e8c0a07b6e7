"""What the SDK scripts set before importing `rapidata` (as sdk_conformance.py does), and
the path to the vendored interop helpers. Import this module first."""

import os
import sys
from pathlib import Path

# Environment for the SDK, read when rapidata is imported.
os.environ["RAPIDATA_DISABLE_OTLP"] = "1"
os.environ["RAPIDATA_cacheToDisk"] = "false"
os.environ["RAPIDATA_silent_mode"] = "true"
os.environ["RAPIDATA_level"] = "CRITICAL"
for _var in ("RAPIDATA_TOKEN_FILE", "RAPIDATA_ENVIRONMENT"):
    os.environ.pop(_var, None)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "third_party" / "interop"))
