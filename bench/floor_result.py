"""What C (floor.py) and C2 (fused_floor.py) print: one JSON line that ways.py reads."""

import json
import time


def finish(failed, import_s, started, per_call):
    """Print {"ok", "failed", "import_s", "calls_s", "per_call_s"}; return the exit code (0 when ok)."""
    print(
        json.dumps(
            {
                "ok": failed is None,
                "failed": failed,
                "import_s": round(import_s, 4),
                "calls_s": round(time.perf_counter() - started, 4),
                "per_call_s": [round(x, 4) for x in per_call],
            }
        )
    )
    return 0 if failed is None else 1
