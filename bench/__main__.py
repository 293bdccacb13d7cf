"""`python -m bench [--smoke] [ingest|rollup|pages|otlp|gateway …|profile]`: run the benchmarks (ingest,
rollup, pages, otlp, gateway and runaway by default), check their results and record them in docs/benchmarks.md;
`--smoke` runs them small and records nothing (CI); `profile` profiles one ingestion path, `profile gateway`
the gateway under load; `gateway --soak SECONDS` soaks the gateway with faults (bench.soak)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .config import config_load
from .cpu import quiet_wait
from .database import bench_environment, django_start, parts_clear
from .soak import SOAK_RPS

PARTS = ("ingest", "rollup", "pages", "otlp", "gateway", "runaway")
# The smoke's gateway part ends with a soak this long: every fault and check, in seconds.
SMOKE_SOAK_SECONDS = 10
# Above this many busy cores before a part starts, its figures are flagged as unreliable.
BUSY_WARNING_CORES = 0.25


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "parts", nargs="*", metavar="part", help=f"run these only: {', '.join(PARTS)}, or profile, or scale"
    )
    parser.add_argument("--no-record", action="store_true", help="do not append the results to docs/benchmarks.md")
    parser.add_argument(
        "--smoke", action="store_true", help="every part at a small size, checked as in a full run; records nothing"
    )
    parser.add_argument(
        "--soak",
        type=_seconds,
        metavar="SECONDS",
        help=f"with gateway only: the gateway at {SOAK_RPS} req/s for SECONDS, with faults, checked call by call",
    )
    args = parser.parse_args()
    if args.soak and args.parts != ["gateway"]:
        parser.error("--soak runs with the gateway part only: python -m bench gateway --soak SECONDS")
    parts = [p for p in PARTS if p in args.parts] or (["profile"] if args.parts else list(PARTS))
    unknown = sorted(set(args.parts) - {*PARTS, "profile", "scale"})
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}: choose from {', '.join(PARTS)}, or profile, or scale")
    if "profile" in args.parts and args.parts not in (["profile"], ["profile", "gateway"]):
        parser.error("profile runs on its own (`profile` for ingestion, `profile gateway` for the gateway)")
    if "scale" in args.parts and args.parts != ["scale"]:
        parser.error("scale runs on its own")
    if args.parts == ["scale"]:
        parts = ["scale"]
    config = config_load(smoke=args.smoke)
    record = not (args.no_record or args.smoke)
    started = time.monotonic()
    size = "smoke sizes, nothing recorded" if config.smoke else "full sizes"
    print(f"== bench database {config.database} ({size}): recreate, migrate, load prices", flush=True)
    django_start(config, fresh=True)
    if parts == ["scale"]:
        import tempfile

        from .scale import scale_run

        print(f"== scale benchmark ({config.scale_events} events)", flush=True)
        with tempfile.TemporaryDirectory() as archive_dir:
            os.environ["ARCHIVE_DIR"] = archive_dir
            from django.conf import settings

            settings.ARCHIVE_DIR = Path(archive_dir)
            figures = scale_run(config, archive_dir)
        print(f"== scale: {figures}", flush=True)
        print(f"== all checks passed in {time.monotonic() - started:.0f} s", flush=True)
        return
    if "profile" in args.parts:
        if "gateway" in args.parts:
            from .gateway_profile import profile_gateway_run

            profile_gateway_run(bench_environment(config), config.redis_url)
        else:
            from .profile import profile_run

            profile_run()
        return
    from .report import machine_describe, results_record

    print(f"== machine: {machine_describe()}", flush=True)
    results, background = {}, {}
    for part in parts:
        parts_clear()
        background[part] = _background_check(config.quiet_wait_s)
        if part == "ingest":
            from .ingest import ingest_run

            print("== ingestion benchmark", flush=True)
            results[part] = ingest_run(config, bench_environment(config))
        elif part == "rollup":
            from .rollup import rollup_run

            print("== rollup benchmark", flush=True)
            results[part] = rollup_run(config)
        elif part == "otlp":
            from .otlp import otlp_run

            print("== OpenTelemetry ingestion benchmark", flush=True)
            results[part] = otlp_run(config, bench_environment(config))
        elif part == "pages":
            from .pages import pages_run

            print("== page benchmark", flush=True)
            results[part] = pages_run(config)
        elif part == "runaway":
            from .runaway import runaway_run

            print("== runaway against a hard limit", flush=True)
            runaway_figures = runaway_run(config, bench_environment(config))
        elif args.soak:
            from .soak import soak_run

            print(f"== gateway soak ({args.soak} s)", flush=True)
            soak_figures = soak_run(config, bench_environment(config), seconds=args.soak)
        else:
            from .gateway import gateway_run

            print("== gateway benchmark", flush=True)
            gateway_figures = gateway_run(config, bench_environment(config))
            if config.smoke:
                from .soak import soak_run

                print(f"== gateway soak ({SMOKE_SOAK_SECONDS} s)", flush=True)
                parts_clear()
                soak_figures = soak_run(config, bench_environment(config), seconds=SMOKE_SOAK_SECONDS)
    print(f"== all checks passed in {time.monotonic() - started:.0f} s", flush=True)
    if results:
        results_record(results, background, record=record)
    if "gateway" in parts and not args.soak:
        from .gateway import gateway_record

        gateway_record(gateway_figures, head=_head(background["gateway"]), record=record)
    if "gateway" in parts and (args.soak or config.smoke):
        from .soak import soak_record

        soak_record(soak_figures, head=_head(background["gateway"]), record=record)
    if "runaway" in parts:
        from .runaway import runaway_record

        runaway_record(runaway_figures, head=_head(background["runaway"]), record=record)


def _seconds(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be positive")
    return value


def _head(busy_cores: float) -> list[str]:
    from datetime import UTC, datetime

    from .report import commit_describe, machine_describe

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    return [stamp, commit_describe(), machine_describe(), f"{busy_cores:.2f}"]


def _background_check(patience_s: int) -> float:
    cores = quiet_wait(threshold=BUSY_WARNING_CORES, patience_s=patience_s)
    print(f"== other load on the machine before starting: {cores:.2f} cores busy", flush=True)
    if cores > BUSY_WARNING_CORES:
        print("   WARNING: the machine is busy with other work; figures will be low and noisy.", flush=True)
    return cores


if __name__ == "__main__":
    main()
