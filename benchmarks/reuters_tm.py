"""Reuters-21578 stories from Debian's r-cran-tm package as quotebot JSONL, for a second wire
collection beside ../shared/corpus/reuters (which is tm's "acq"; this reads "crude" too).

    apt-get download r-cran-tm && dpkg -x r-cran-tm_*.deb /tmp/tm
    .venv/bin/python benchmarks/reuters_tm.py /tmp/tm/usr/lib/R/site-library/tm/texts/crude > /tmp/crude.jsonl

Same shape as ../shared/corpus/reuters/acq.jsonl: the dateline starts the text, entities decoded.
Ids are "crude-<NEWID>". The text is for tests and evaluation only: never commit it.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path


def story(path: Path, prefix: str) -> dict[str, str]:
    root = ET.parse(path).getroot()
    text = root.find("TEXT")
    assert text is not None, f"{path}: no TEXT"
    dateline = (text.findtext("DATELINE") or "").strip()
    body = text.findtext("BODY") or ""
    stamp = datetime.strptime(
        (root.findtext("DATE") or "").strip().split(".")[0], "%d-%b-%Y %H:%M:%S"
    )
    return {
        "id": f"{prefix}-{root.get('NEWID')}",
        "title": (text.findtext("TITLE") or "").strip(),
        "published": stamp.isoformat(),
        "text": f"{dateline} {body}" if dateline else body,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path, help="tm/texts/<topic>, a folder of reut-*.xml")
    args = ap.parse_args()
    for path in sorted(args.folder.glob("*.xml")):
        sys.stdout.write(json.dumps(story(path, args.folder.name)) + "\n")


if __name__ == "__main__":
    main()
