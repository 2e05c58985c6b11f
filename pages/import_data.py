"""Import: upload a file, preview what it holds and what is wrong with it, then import it.

The same rules as `python -m analytics import`: all or nothing, idempotent, every import a batch
with an audit entry.
"""

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.ingest.importer import KINDS, import_files, preview
from analytics.ingest.validate import InvalidImport
from analytics.settings import get_settings

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

DETECT = "detect from the file"


st.title("Import")
st.caption("Canonical CSV / Parquet / JSON lines, tool payloads (GitHub, GitLab, Jenkins, PagerDuty, "
           "ServiceNow, Jira, Four Keys), BPIC 2014 and UCI files, OpenSLO YAML. Any invalid row stops "
           "the import and nothing is written; importing the same file twice changes nothing.")
limit_mb = get_settings().upload_limit_mb
left, right = st.columns(2)
kind = left.selectbox("Kind", [DETECT, *KINDS], key="import_kind")
tz = right.text_input("Time zone of timestamps without an offset", "UTC", key="import_tz")
source = left.text_input("Source name (optional)", key="import_source",
                         help="Rows are kept under (source, external id); default: canonical or the kind.")
mapping = right.file_uploader("Column mapping (TOML, optional)", type=["toml"], key="import_map")
# The widget's own limit is the setting (not Streamlit's 200 MB default), so the browser refuses
# a larger file before sending it; `serve` gives the server the same limit.
upload = st.file_uploader(f"File (at most {limit_mb} MB)", key="import_file",
                          max_upload_size=max(1, limit_mb),
                          help=f"Files above {limit_mb} MB (WORKBENCH_UPLOAD_LIMIT_MB) are refused "
                               "before they are sent; import larger files with the CLI. A .gz file "
                               f"may expand to at most {get_settings().max_expanded_mb:,} MB "
                               "(WORKBENCH_MAX_EXPANDED_MB).")

if upload is None:
    st.info("Choose a file to see a preview. Example files for every canonical kind are in "
            "analytics/ingest/examples/.")
    st.stop()

data = upload.getvalue()
if len(data) > limit_mb * 1024 * 1024:
    st.error(f"{upload.name} is {len(data) / 1024 / 1024:,.1f} MB, above the {limit_mb} MB limit "
             "(WORKBENCH_UPLOAD_LIMIT_MB). Import it with the CLI instead. Nothing was imported.")
    st.stop()
map_bytes = mapping.getvalue() if mapping is not None else None
chosen = None if kind == DETECT else kind
result = preview(chosen, data, upload.name, tz=tz, mapping=map_bytes)

st.subheader("Preview")
st.write(f"**{ui.plain(upload.name)}** · detected kind: **{result['detected_kind'] or 'unknown'}** · "
         f"importing as: **{result['kind'] or '—'}**")
if result["counts"]:
    st.caption("Rows per table: " + ", ".join(f"{t} {n:,}" for t, n in result["counts"].items()))
for table, frame in result["rows"].items():
    st.markdown(f"First rows for **{table}**")
    st.dataframe(frame if isinstance(frame, pl.DataFrame) else pl.DataFrame(frame), placeholder="—",
                 hide_index=True, width="stretch")
for warning in result["warnings"]:
    st.warning(ui.plain(warning))  # a warning may quote the file's values
if result["problems"]:
    # Problems quote the file's own values and name: shown as plain text, never as Markdown.
    more = result["total_problems"] - len(result["problems"])
    st.error(f"{result['total_problems']:,} problem(s); this file cannot be imported.")
    st.code("\n".join(result["problems"]) + (f"\n… and {more:,} more" if more > 0 else ""),
            language=None, wrap_lines=True)
    st.stop()

if st.button("Import", type="primary", key="import_go", disabled=result["kind"] is None):
    try:
        done = import_files(ui.engine(), result["kind"], uploads=[(upload.name, data)], tz=tz,
                            source=source or None, mapping=map_bytes, actor=access.actor())
    except InvalidImport as exc:
        st.error("The import was refused; nothing was written.")
        st.code(exc.describe(), language=None, wrap_lines=True)  # quotes the file: plain text
        st.stop()
    st.cache_data.clear()  # every page's numbers may have changed
    ui.data_changed()  # and this run's reads below must see them
    s = done.summary()
    st.success(f"Imported as batch {s['batch_id']}: {s['inserted']:,} inserted, {s['updated']:,} "
               f"updated, {s['unchanged']:,} unchanged, {s['rejected']:,} skipped by the source's rules.")
    for warning in done.warnings:
        st.warning(ui.plain(warning))
