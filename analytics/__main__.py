"""Entry point: ``python -m analytics`` (every CLI command, and ``serve``, which runs the app in
this process)."""

import os

# polars' allocator (jemalloc) hands freed pages back to the OS at once by default, and a report
# that builds and drops frames of millions of rows faults them back in: a third of its CPU was
# system time at a million deployments. Kept ten seconds, they are reused within a report, and
# an idle server still returns them. Read when polars loads, so set before anything imports it;
# a value the user set wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000,muzzy_decay_ms:0")

from analytics.cli import main  # noqa: E402
from analytics.cli.common import exit_process  # noqa: E402

exit_process(main())
