"""Lists what vllm-plugin-FL and FlagGems register, for autotune's operator discovery.

Prints one line `AUTOTUNE_PROBE <json>` on stdout (imports may print their own lines first):
  {"python": "3.11.7",
   "flaggems": {"version": "5.0.2", "ops": [...]} or null,
   "plugin": {"version": "0.1.0", "backends": {"rms_norm": ["flagos", "vendor"], ...},
              "oot": [...]} or null,
   "problems": ["why a part is null", ...]}
The same calls as the plugin's benchmarks/benchmark_throughput_autotune.py: FlagGems' list from
vllm_fl.utils.get_flaggems_all_ops(), the backends from the dispatch registry's snapshot, the
OOT names from vllm_fl.utils.OOT_OP_NAMES. It never fails: what cannot be read is reported.
"""
import json
import sys


def _version(dist, module):
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        value = getattr(module, "__version__", None)
        return None if value is None else str(value)


def _flaggems(problems):
    try:
        import flag_gems
    except Exception as exc:
        problems.append("flag_gems: %s: %s" % (type(exc).__name__, exc))
        return None
    ops = None
    try:
        from vllm_fl.utils import get_flaggems_all_ops

        ops = list(get_flaggems_all_ops())
    except Exception as exc:
        problems.append("get_flaggems_all_ops: %s: %s" % (type(exc).__name__, exc))
        if hasattr(flag_gems, "all_registered_ops"):
            ops = list(flag_gems.all_registered_ops())
    return {"version": _version("flag_gems", flag_gems), "ops": sorted(set(str(op) for op in ops or []))}


def _plugin(problems):
    try:
        import vllm_fl
        from vllm_fl.utils import OOT_OP_NAMES
        from vllm_fl.dispatch import BackendImplKind, get_default_manager
    except Exception as exc:
        problems.append("vllm_fl: %s: %s" % (type(exc).__name__, exc))
        return None
    kinds = {
        BackendImplKind.DEFAULT: "flagos",
        BackendImplKind.VENDOR: "vendor",
        BackendImplKind.REFERENCE: "reference",
    }
    backends = {}
    try:
        manager = get_default_manager()
        manager.ensure_initialized()
        snapshot = manager.registry.snapshot()
        for op, impls in snapshot.impls_by_op.items():
            found = sorted({kinds[impl.kind] for impl in impls if impl.kind in kinds})
            if found:
                backends[str(op)] = found
    except Exception as exc:
        problems.append("dispatch registry: %s: %s" % (type(exc).__name__, exc))
        return None
    return {
        "version": _version("vllm_fl", vllm_fl),
        "backends": backends,
        "oot": sorted(str(op) for op in OOT_OP_NAMES),
    }


def main():
    problems = []
    result = {
        "python": sys.version.split()[0],
        "flaggems": _flaggems(problems),
        "plugin": _plugin(problems),
        "problems": problems,
    }
    sys.stdout.write("AUTOTUNE_PROBE " + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
