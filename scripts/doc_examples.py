#!/usr/bin/env python3
"""Counts the public items of the `throughline` facade whose documentation has no code example.

Issue 18 asks for a runnable example on every public item of the facade. This script reads
the HTML that rustdoc generates for the `throughline` crate (so it sees exactly what a user
sees, re-exported items of the other workspace crates included) and lists every item whose
doc has no Rust code block (`<pre class="rust ...">`, other than the item's declaration).

Run it from the repository's root, after building the docs:

    cargo doc -p throughline --no-deps
    python3 scripts/doc_examples.py            # summary and the list of items without one
    python3 scripts/doc_examples.py --count    # the number only
    python3 scripts/doc_examples.py --all      # also the items of other crates (chrono, ...)

Options: `--doc-dir DIR` (default `target/doc/throughline`, or `$CARGO_TARGET_DIR/doc/...`),
`--crates DIR` (default `crates`, the sources used to tell our items from re-exported items
of other crates such as chrono's `DateTime`).

What counts as an item:
- every page: module, struct, enum, trait, function, macro, derive, attribute, type alias,
  constant (its top documentation);
- on struct, enum and union pages, every associated function, method, constant and type of
  their inherent `impl` blocks;
- on trait pages, every required and provided method, associated type and constant.
Trait implementations (`impl Clone for ...`), auto and blanket implementations, enum
variants, struct fields and implementors are not items of their own. Items hidden with
`#[doc(hidden)]` have no page and are not seen; redirect pages (rustdoc writes them for
re-exports) are skipped, and an item inlined on two pages (the root and `prelude`) counts
once.

An `ignore` code block is not an example (it is not compiled); `no_run` and `compile_fail`
blocks are (they are compiled). rustdoc's HTML does not mark `no_run` blocks, so this
script cannot tell them from the blocks that run: `grep -rn no_run crates docs README.md`.

Stale pages: cargo does not re-document the crate when only a file it includes with
`include_str!` from outside its folder changes (the guides in `docs/*.md`, `README.md`):
its doc fingerprint looks at the package's own files. The pages of an edited guide then
keep their old text, and the guide stays listed. The script warns (on stderr) when such a
file is newer than the docs; `touch crates/throughline/src/lib.rs` and build them again.

Exit status: 0 always (it reports; the count is the number to watch).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SECTION_HEADER = re.compile(r'<h2 id="([^"]+)" class="section-header"')
ITEM_SECTION = re.compile(
    r'<section id="(method|tymethod|associatedconstant|associatedtype)\.([^"]+)"'
)
ANY_SECTION = re.compile(r'<section id="')
EXAMPLE = re.compile(r'<pre class="rust(?! item-decl)([^"]*)"')
# Regions of a page whose items are the page's own (not trait implementations).
ITEM_REGIONS = {
    "implementations",
    "required-methods",
    "provided-methods",
    "required-associated-types",
    "provided-associated-types",
    "required-associated-consts",
    "provided-associated-consts",
}
KINDS = {
    "struct": "struct",
    "enum": "enum",
    "union": "union",
    "trait": "trait",
    "fn": "fn",
    "macro": "macro",
    "derive": "derive",
    "attr": "attr",
    "type": "type",
    "constant": "const",
    "static": "static",
}


@dataclass
class Item:
    path: str  # e.g. throughline::QuerySet::filter
    kind: str  # struct, method, tymethod, mod, ...
    page: str  # the HTML page, relative to the doc folder
    own: bool  # defined in the workspace's crates
    examples: list[str]  # the classes of its code blocks ("", " ignore", ...)

    @property
    def runnable(self) -> bool:
        return any("ignore" not in c for c in self.examples)


def classes(html: str) -> list[str]:
    """The extra classes of each Rust code block in `html` (declarations excluded)."""
    out = []
    for m in EXAMPLE.finditer(html):
        extra = m.group(1)
        # rustdoc marks the block's wrapper, not always the <pre>: look just before it.
        wrap = html.rfind('class="example-wrap', 0, m.start())
        if wrap != -1 and m.start() - wrap < 400:
            end = html.find('"', wrap + len('class="'))
            extra += " " + html[wrap + len('class="example-wrap') : end]
        out.append(extra.strip())
    return out


def definitions(crates: Path) -> set[str]:
    """Names defined (not merely re-exported) in the workspace crates' sources."""
    pattern = re.compile(
        r"\b(?:struct|enum|union|trait|fn|type|const|static|mod)\s+(r#)?([A-Za-z_][A-Za-z0-9_]*)"
        r"|proc_macro_derive\(\s*([A-Za-z_][A-Za-z0-9_]*)"
        r"|macro_rules!\s*([A-Za-z_][A-Za-z0-9_]*)"
    )
    names: set[str] = set()
    for source in crates.glob("*/src/**/*.rs"):
        text = source.read_text(encoding="utf-8", errors="replace")
        for m in pattern.finditer(text):
            names.add(m.group(2) or m.group(3) or m.group(4))
    return names


def scan(doc: Path, own_names: set[str]) -> list[Item]:
    items: list[Item] = []
    seen: set[tuple[str, str]] = set()
    # Shallow pages first, so that an item inlined twice is named by its shortest path.
    pages = sorted(doc.rglob("*.html"), key=lambda p: (len(p.parts), p.as_posix()))
    for page in pages:
        rel = page.relative_to(doc).as_posix()
        parts = rel.split("/")
        if any(p.startswith("__") for p in parts) or parts[0] == "src":
            continue  # doc(hidden) modules' redirects, source pages
        name = parts[-1]
        if name in ("all.html", "sidebar-items.js"):
            continue
        html = page.read_text(encoding="utf-8", errors="replace")
        if 'http-equiv="refresh"' in html:
            continue
        module = ["throughline", *parts[:-1]]
        if name == "index.html":
            kind, ident = "mod", None
        else:
            prefix, _, rest = name.partition(".")
            if prefix not in KINDS:
                continue
            kind, ident = KINDS[prefix], rest.removesuffix(".html")
        main_start = html.find('<section id="main-content"')
        body = html[main_start:] if main_start != -1 else html
        headers = [(m.start(), m.group(1)) for m in SECTION_HEADER.finditer(body)]
        first_header = headers[0][0] if headers else len(body)
        top = body.find('class="toggle top-doc"')
        top_doc = body[top:first_header] if top != -1 and top < first_header else ""
        key = (name, hashlib.sha1(top_doc.encode()).hexdigest())
        if key in seen:
            continue  # the same item inlined on another page (prelude)
        seen.add(key)
        path = "::".join(module + ([ident] if ident else []))
        own = True if ident is None else ident in own_names
        items.append(Item(path, kind, rel, own, classes(top_doc)))
        if kind not in ("struct", "enum", "union", "trait"):
            continue  # a type alias lists the aliased type's impls: not its own items
        boundaries = sorted(
            [m.start() for m in ANY_SECTION.finditer(body)] + [h for h, _ in headers]
        )
        for m in ITEM_SECTION.finditer(body):
            region = None
            for pos, hid in headers:
                if pos < m.start():
                    region = hid
            if region not in ITEM_REGIONS:
                continue
            end = next((b for b in boundaries if b > m.start()), len(body))
            chunk = body[m.start() : end]
            items.append(
                Item(f"{path}::{m.group(2)}", m.group(1), rel, own, classes(chunk))
            )
    return items


INCLUDE = re.compile(r'include_str!\(\s*"([^"]+)"\s*\)')


def stale_includes(doc: Path, crates: Path) -> list[Path]:
    """Files the facade includes with `include_str!` that are newer than its docs."""
    built = (doc / "index.html").stat().st_mtime
    stale = []
    for source in sorted((crates / "throughline" / "src").rglob("*.rs")):
        text = source.read_text(encoding="utf-8", errors="replace")
        for m in INCLUDE.finditer(text):
            included = (source.parent / m.group(1)).resolve()
            if included.is_file() and included.stat().st_mtime > built:
                stale.append(included)
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    parser.add_argument("--doc-dir", default=str(Path(target) / "doc" / "throughline"))
    parser.add_argument("--crates", default="crates")
    parser.add_argument("--count", action="store_true", help="print the number only")
    parser.add_argument("--all", action="store_true", help="include other crates' items")
    args = parser.parse_args()
    doc = Path(args.doc_dir)
    if not (doc / "index.html").is_file():
        print(f"{doc}/index.html not found: run `cargo doc -p throughline --no-deps`", file=sys.stderr)
        return 2
    for path in stale_includes(doc, Path(args.crates)):
        print(f"warning: {path} is newer than the docs, which cargo does not notice: "
              "`touch crates/throughline/src/lib.rs` and run `cargo doc` again", file=sys.stderr)
    items = scan(doc, definitions(Path(args.crates)))
    considered = [i for i in items if i.own or args.all]
    missing = [i for i in considered if not i.runnable]
    if args.count:
        print(len(missing))
        return 0
    print(f"{len(considered)} items, {len(missing)} without an example"
          f" ({len([i for i in items if not i.own])} items of other crates {'included' if args.all else 'left out'})")
    for item in missing:
        note = " (ignore only)" if item.examples else ""
        print(f"  {item.kind:<18} {item.path}{note}    [{item.page}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
