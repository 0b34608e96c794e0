"""No stored or reflected text runs as script: XSS payloads through every field that shows user text back.

Fields and where they are shown:
- display name (sign-up form, profile form): the header of its owner's pages, the profile form, the
  administrators' accounts list and account page (title and heading), and the audit log (who);
- agency names and short name (administrators' form): the agencies table on /admin, the flash message
  after creation, role labels (accounts list, account page) and the agency list of the role form;
- the search box of /admin/accounts: reflected in the box, and in the language switcher's return address.

Payloads:
- CLASSIC_PAYLOADS, below, always run: a dozen through the real forms in Chromium with the site's
  Content-Security-Policy enforced, and all of them stored straight in the database and shown on every
  page above with the policy bypassed, so that escaping is tested on its own (CSP is the second line) and
  a payload that got through would really run;
- every line of <test_data_dir>/xss/xss-payload-list.txt and <test_data_dir>/naughty-strings/blns.txt,
  written straight into the database in batches (truncated to the column) and read back, with the policy
  enforced, from every page of the lists (following their "more" links), /admin and the role form; the
  pages that show one value per load (header, profile form, account page, search box) take an evenly
  spaced sample of ENTITY_SAMPLE of them. Without the data folder this test is skipped (failed in CI).

What counts as a run, in Chromium on the live server (signed in as an administrator): a dialog
(alert/confirm/prompt), a call to one of those seen by an init script, a Content-Security-Policy violation
event, any console message or page error (the site has no JavaScript), a popup, a frame, an element with an
on* attribute or a javascript: address, a <script> element, any tag that the benign pages do not use, or a
navigation away. And every value must come back as the same text (or attribute value) it was stored as.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from consult import i18n
from consult.models import Account, Agency, AuditEntry, Consultation, ConsultationStatus, Role, RoleGrant
from consult.queries import PAGE_SIZE
from consult.web.templating import role_label
from tests.conftest import ENV_SETTINGS, ROOT, missing
from tests.helpers import PASSWORD
from tests.site import World, seed_world, session_cookie

# Classic payloads: script and event-handler injection in text, attribute and URL contexts, breaking out of
# title/textarea/comments/CDATA, mutation XSS, base/meta/style injection, double escaping and templates.
# Each fits a display name (60 characters, no "@").
CLASSIC_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(1)",
    '" autofocus onfocus=alert(1) x="',
    "' autofocus onfocus='alert(1)",
    "a onmouseover=alert(1) b",
    "<input autofocus onfocus=prompt(1)>",
    "<details open ontoggle=confirm(1)>",
    "<math><mtext><table><mglyph><style><svg onload=alert(1)>",
    '<noscript><p title="</noscript><img src onerror=alert(1)>">',
    '<base href="//evil.example/">',
    "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
    "<style>*{display:none}</style>",
    '<object data="javascript:alert(1)"></object>',
    "--><script>alert(1)</script><!--",
    "]]><script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;img src=x onerror=alert(1)&#62;",
    "{{ 7*7 }}{% raw %}${alert(1)}",
    "\u202e<script>alert(1)</script>",
]

# How many of the big lists' payloads go through the pages that show one value per page load.
ENTITY_SAMPLE = 25
# Tabs loading the pages of a long list at the same time (the server renders one while Chromium lays out another).
TABS = 2
NAME_LENGTH = 60  # Account.display_name
AGENCY_NAME_LENGTH = 200  # Agency.name_vi, Agency.name_en
SLUG_LENGTH = 80  # Agency.slug
SEARCH_LENGTH = 100  # the search box keeps the first 100 characters

# Runs in every page before the page's own content: records CSP violations and dialog calls.
INIT_SCRIPT = r"""
(() => {
  const hits = [];
  Object.defineProperty(window, "__xss", { value: hits });
  const note = (what) => hits.push(String(what).slice(0, 300));
  document.addEventListener("securitypolicyviolation",
    (e) => note(`CSP ${e.effectiveDirective} blocked ${e.blockedURI || "inline"}: ${e.sample}`), true);
  for (const name of ["alert", "confirm", "prompt"]) {
    const original = window[name];
    window[name] = function (...args) { note(`${name}(${args.map(String).join(", ")})`); return original.apply(this, args); };
  }
  window.print = () => note("print()");
})();
"""

# Reads the page: everything that would betray markup or script from a payload, and the texts asked for.
INSPECT = r"""
async (read) => {
  // Let tasks already queued (violation events, error events) run before reading.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const elements = [...document.getElementsByTagName("*")];
  const handlers = [], addresses = [];
  for (const el of elements) {
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name)) handlers.push(`<${el.localName} ${attr.name}=${attr.value.slice(0, 80)}>`);
      if (/^(href|src|action|formaction|data|srcdoc|xlink:href|poster|background)$/i.test(attr.name)
          && /^\s*(javascript|vbscript|data):|<script/i.test(attr.value)) addresses.push(`<${el.localName} ${attr.name}=${attr.value.slice(0, 80)}>`);
    }
  }
  const describe = (el) => ({
    text: el.textContent,
    value: el.getAttribute("value"),
    href: el.getAttribute("href"),
    descendants: el.getElementsByTagName("*").length,
    cells: [...el.children].map((c) => ({ text: c.textContent, descendants: c.getElementsByTagName("*").length,
                                          href: c.querySelector("a") ? c.querySelector("a").getAttribute("href") : null })),
  });
  const found = {};
  for (const [key, selector] of Object.entries(read)) found[key] = [...document.querySelectorAll(selector)].map(describe);
  // One string: far cheaper to carry over the protocol than a large object.
  return JSON.stringify({
    url: location.href,
    hits: [...(window.__xss || ["the init script did not run"])],
    scripts: document.scripts.length,
    frames: window.frames.length,
    handlers, addresses,
    tags: [...new Set(elements.map((el) => el.localName))],
    found,
  });
}
"""

# The pages whose tags make up the site's vocabulary (seeded world, no payload), learnt once.
BENIGN_PAGES = ["/", "/account", "/admin", "/admin/accounts", "/admin/accounts?q=zz", "/moderation/audit"]
VOCABULARY: set[str] = set()


def clean(value: str) -> str:
    """What a database stores: PostgreSQL text cannot hold NUL."""
    return value.replace("\x00", "")


def parsed(value: str) -> str:
    """The text as the HTML parser gives it back: line breaks normalised to LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def collapsed(value: str) -> str:
    """A display name as the forms store it."""
    return " ".join(value.split())


def label(role: Role, language: str) -> str:
    token = i18n.set_language(language)
    try:
        return role_label(role.value)
    finally:
        i18n.reset_language(token)


def sample(values: list, count: int) -> list:
    if len(values) <= count:
        return list(values)
    step = len(values) / count
    return [values[int(i * step)] for i in range(count)]


# --- the browser side ---------------------------------------------------------------------------


@dataclass
class Watcher:
    """One Chromium tab on the live server, with every detector on, and the problems seen so far."""

    base: str
    page: object
    vocabulary: set[str] = field(default_factory=set)
    events: list[str] = field(default_factory=list)
    loading: str = ""  # the address of the page being loaded
    problems: list[str] = field(default_factory=list)
    visits: int = 0
    opened_with: tuple = ()

    @classmethod
    async def open(cls, browser, live_server: str, cookies: dict[str, str], bypass_csp: bool = False) -> "Watcher":
        context = await browser.new_context(bypass_csp=bypass_csp)
        await context.add_init_script(INIT_SCRIPT)
        all_cookies = {"lang": "vi", **cookies}
        await context.add_cookies([{"name": k, "value": v, "url": live_server} for k, v in all_cookies.items()])
        page = await context.new_page()
        watcher = cls(live_server, page, opened_with=(browser, live_server, cookies, bypass_csp))

        async def on_dialog(dialog):
            watcher.events.append(f"dialog {dialog.type}: {dialog.message}")
            await dialog.dismiss()

        page.on("dialog", on_dialog)

        def on_console(message):
            url = message.location.get("url")
            # Not the page's doing: the browser's own request for /favicon.ico (the site has none), and the
            # report of the page's own error status (checked against the expected status in inspect).
            if url == live_server + "/favicon.ico" or (url == watcher.loading and message.text.startswith("Failed to load resource")):
                return
            watcher.events.append(f"console {message.type}: {message.text} (from {url})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: watcher.events.append(f"page error: {error}"))
        page.on("popup", lambda popup: watcher.events.append(f"popup: {popup.url}"))
        return watcher

    async def close(self) -> None:
        await self.page.context.close()

    async def twin(self) -> "Watcher":
        """Another tab like this one (its own browser context), reporting into the same problem list."""
        twin = await Watcher.open(*self.opened_with)
        twin.vocabulary, twin.problems = self.vocabulary, self.problems
        return twin

    async def learn_vocabulary(self, world: World) -> None:
        """The tags of the benign pages (seeded world, no payload): a payload page may use no other. The
        templates decide them, so they are learnt once for the session."""
        if not VOCABULARY:
            vocabulary = set()
            for path in BENIGN_PAGES + [f"/admin/accounts/{world.accounts['official'].id}"]:
                state = await self.visit(path)
                vocabulary.update(state["tags"])
            assert "script" not in vocabulary and {"html", "table", "form", "input", "select"} <= vocabulary
            assert not self.problems, "the benign pages already trip the detectors:\n" + "\n".join(self.problems)
            VOCABULARY.update(vocabulary)
        self.vocabulary = VOCABULARY

    async def visit(self, path: str, read: dict[str, str] | None = None, status: int = 200) -> dict:
        self.loading = self.base + path
        response = await self.page.goto(self.base + path)
        return await self.inspect(path, read, response, status)

    async def submit(self, form: str, status: int = 200, read: dict[str, str] | None = None) -> dict:
        """Clicks the form's submit button and inspects where the browser lands."""
        self.loading = self.base + (await self.page.get_attribute(form, "action"))
        async with self.page.expect_navigation() as navigation:
            await self.page.locator(f"{form} button[type=submit]").last.click()
        response = await navigation.value
        return await self.inspect(f"{form} submitted", read, response, status)

    async def inspect(self, where: str, read, response, status: int) -> dict:
        self.visits += 1
        state = json.loads(await self.page.evaluate(INSPECT, read or {}))
        seen = state["hits"] + self.events
        self.events.clear()
        if response.status != status:
            self.problem(where, f"status {response.status}, expected {status}")
        if state["url"] != response.url:
            self.problem(where, f"the page navigated away to {state['url']}")
        for hit in seen:
            self.problem(where, f"script ran or was blocked: {hit}")
        if state["scripts"]:
            self.problem(where, f"{state['scripts']} <script> elements (the site has none)")
        if state["frames"]:
            self.problem(where, f"{state['frames']} frames")
        for handler in state["handlers"]:
            self.problem(where, f"event handler attribute {handler}")
        for address in state["addresses"]:
            self.problem(where, f"script address {address}")
        if self.vocabulary and not set(state["tags"]) <= self.vocabulary:
            self.problem(where, f"tags no benign page uses: {sorted(set(state['tags']) - self.vocabulary)}")
        return state

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def expect_text(self, where: str, what: str, found: list[dict], expected: str, descendants: int = 0, key: str = "text") -> None:
        """Exactly one element, holding exactly the expected text (or attribute value) and no markup."""
        if len(found) != 1:
            self.problem(where, f"{what}: {len(found)} elements instead of 1 (expected {expected!r})")
            return
        element = found[0]
        if element[key] != parsed(expected):
            self.problem(where, f"{what}: shown as {element[key]!r}, stored as {expected!r}")
        if key == "text" and element["descendants"] != descendants:
            self.problem(where, f"{what}: {element['descendants']} elements inside (expected {descendants}) for {expected!r}")

    def report(self) -> str:
        lines = self.problems[:60]
        more = len(self.problems) - len(lines)
        return "\n".join(lines) + (f"\n... and {more} more" if more > 0 else "")


# --- pages ----------------------------------------------------------------------------------------


class Expected:
    """What the pages must show, by account id and agency."""

    def __init__(self):
        self.names: dict[int, str] = {}  # account id -> display name (accounts list, audit log)
        self.roles: dict[int, str] = {}  # account id -> role label of its one grant
        self.agencies: Counter = Counter()  # (slug, name_vi, name_en) on /admin
        self.options: dict[str, str] = {}  # agency id -> its name in the role form (Vietnamese pages)


async def visit_list(w: Watcher, first: str, ids_newest_first: list[int], read: dict[str, str]) -> list[tuple[str, dict]]:
    """Every page of a keyset-paginated list (PAGE_SIZE rows, newest first, "?after=<last id>"), loaded in
    TABS tabs at once. Each page's "more" link must lead to the next page, and the last page has none."""
    paths = [first] + [f"{first}?after={ids_newest_first[k * PAGE_SIZE - 1]}" for k in range(1, -(-len(ids_newest_first) // PAGE_SIZE))]
    read = {**read, "more": f"main p > a[href^='{first}?after=']"}
    results: list = [None] * len(paths)
    todo = list(enumerate(paths))

    async def work(tab: Watcher) -> None:
        while todo:
            k, path = todo.pop(0)
            state = await tab.visit(path, read)
            more = state["found"]["more"]
            link, wanted = (more[0]["href"] if more else None), (paths[k + 1] if k + 1 < len(paths) else None)
            if link != wanted:
                tab.problem(path, f'the "more" link leads to {link!r} instead of {wanted!r}')
            results[k] = (path, state)

    tabs = [w] + [await w.twin() for _ in range(TABS - 1)]
    try:
        await asyncio.gather(*(work(tab) for tab in tabs))
    finally:
        for tab in tabs[1:]:
            w.visits += tab.visits
            await tab.close()
    return results


async def check_accounts_list(w: Watcher, expected: Expected) -> set[int]:
    """Every page of /admin/accounts: names and role labels of the expected accounts."""
    ids = list(await Account.all().order_by("-id").values_list("id", flat=True))
    seen: set[int] = set()
    for path, state in await visit_list(w, "/admin/accounts", ids, {"rows": "main tbody tr"}):
        for row in state["found"]["rows"]:
            cells = row["cells"]
            match = re.fullmatch(r"/admin/accounts/(\d+)", cells[0]["href"] or "") if cells else None
            if len(cells) != 4 or not match:
                w.problem(path, f"a row of the accounts table is broken: {[c['text'][:60] for c in cells]}")
                continue
            account_id = int(match.group(1))
            seen.add(account_id)
            if account_id in expected.names:
                name = expected.names[account_id]
                if cells[0]["text"] != parsed(name) or cells[0]["descendants"] != 1:
                    w.problem(path, f"display name shown as {cells[0]['text']!r} ({cells[0]['descendants']} elements), stored as {name!r}")
            if account_id in expected.roles:
                role = expected.roles[account_id]
                if cells[3]["text"] != parsed(role) or cells[3]["descendants"] != 0:
                    w.problem(path, f"role label shown as {cells[3]['text']!r} ({cells[3]['descendants']} elements), expected {role!r}")
    return seen


async def check_audit_log(w: Watcher, actors: dict[str, str]) -> set[str]:
    """Every page of the audit log: the actor's name of the entries on the given targets ("account 12")."""
    ids = list(await AuditEntry.all().order_by("-id").values_list("id", flat=True))
    seen: set[str] = set()
    for path, state in await visit_list(w, "/moderation/audit", ids, {"rows": "main tbody tr"}):
        for row in state["found"]["rows"]:
            cells = row["cells"]
            if len(cells) != 5:
                w.problem(path, f"a row of the audit log is broken: {[c['text'][:60] for c in cells]}")
                continue
            target = cells[3]["text"]
            if target in actors:
                seen.add(target)
                name = actors[target]
                if cells[1]["text"] != parsed(name) or cells[1]["descendants"] != 0:
                    w.problem(path, f"actor shown as {cells[1]['text']!r} ({cells[1]['descendants']} elements), stored as {name!r}")
    return seen


async def check_agencies(w: Watcher, expected: Expected, option_page: int) -> None:
    """/admin shows every agency's short name and names; the role form lists every agency by name."""
    state = await w.visit("/admin", {"rows": "#agency-table tbody tr"})
    shown = Counter()
    for row in state["found"]["rows"]:
        cells = row["cells"]
        if len(cells) != 3 or [c["descendants"] for c in cells] != [1, 0, 0]:
            w.problem("/admin", f"a row of the agencies table holds markup: {[c['text'][:60] for c in cells]}")
            continue
        shown[tuple(c["text"] for c in cells)] += 1
    wanted = Counter({tuple(parsed(v) for v in key): n for key, n in expected.agencies.items()})
    for key in (wanted - shown):
        w.problem("/admin", f"agency not shown as stored: {key!r}")
    for key in (shown - wanted):
        w.problem("/admin", f"agency shown but not stored like this: {key!r}")

    path = f"/admin/accounts/{option_page}"
    state = await w.visit(path, {"options": "select#agency option"})
    options = {o["value"]: o for o in state["found"]["options"] if o["value"]}
    if set(options) != set(expected.options):
        w.problem(path, f"the role form lists {len(options)} agencies, {len(expected.options)} exist")
    for agency_id, name in expected.options.items():
        if agency_id in options:
            w.expect_text(path, f"agency {agency_id} in the role form", [options[agency_id]], name)


HEADER_NAME = "header a[href='/account'] .visually-hidden"


async def check_one_value_pages(w: Watcher, admin: Account, account_id: int, name: str, role: str | None, search: str) -> None:
    """The pages that show one value: the header and profile form (the administrator's own name, set to the
    payload), one account's page (title, heading, role), and the search box and return address."""
    await Account.filter(id=admin.id).update(display_name=name)
    state = await w.visit("/account", {"header": HEADER_NAME, "input": "input#display_name"})
    w.expect_text("/account", "header", state["found"]["header"], ": " + name)
    w.expect_text("/account", "profile form", state["found"]["input"], name, key="value")

    path = f"/admin/accounts/{account_id}"
    state = await w.visit(path, {"title": "title", "h1": "main h1", "role": ".role-list button .visually-hidden"})
    w.expect_text(path, "title", state["found"]["title"], f"{name} – Consult")
    w.expect_text(path, "heading", state["found"]["h1"], name)
    if role is not None:
        w.expect_text(path, "role", state["found"]["role"], " " + role)

    path = f"/admin/accounts?q={quote(search, safe='')}"
    state = await w.visit(path, {"q": "input#q", "next": "input[name=next]"})
    w.expect_text(path, "search box", state["found"]["q"], search[:SEARCH_LENGTH], key="value")
    w.expect_text(path, "return address", state["found"]["next"], path, key="value")


# --- storing payloads -------------------------------------------------------------------------------


class Stored:
    """The payloads written straight into the database, in batches: one account per display name (each with
    an audit entry by it), one agency per name (short name, Vietnamese and English name), agency i granted
    to account i. Values are cleaned and truncated to their columns as a database would keep them."""

    def __init__(self, payloads: list[str], world: World, language: str = "vi"):
        self.world, self.language = world, language
        self.cleaned = [clean(p) for p in payloads if clean(p)]
        self.names = list(dict.fromkeys(p[:NAME_LENGTH] for p in self.cleaned))
        self.agency_names = list(dict.fromkeys(p[:AGENCY_NAME_LENGTH] for p in self.cleaned))
        self.slugs, taken = [], {a.slug for a in world.agencies}
        for i, name in enumerate(self.agency_names):
            slug = name[:SLUG_LENGTH]
            if slug in taken:  # truncation made two short names equal: keep them apart
                slug = f"{i}~{name}"[:SLUG_LENGTH]
            taken.add(slug)
            self.slugs.append(slug)
        self.count = max(len(self.names), len(self.agency_names))
        self.display = [self.names[i] if i < len(self.names) else f"Người số {i}" for i in range(self.count)]
        self.account_ids: list[int] = []
        self.role = label(Role.OFFICIAL, language)

    def email(self, i: int) -> str:
        return f"xss-{i:05d}@example.invalid"

    async def add_accounts(self) -> None:
        verified = self.world.accounts["admin"].created_at
        accounts = [Account(email=self.email(i), display_name=self.display[i], password_hash="!", email_verified_at=verified) for i in range(self.count)]
        await Account.bulk_create(accounts, batch_size=500)
        ids = dict(await Account.filter(email__startswith="xss-").values_list("email", "id"))
        self.account_ids = [ids[self.email(i)] for i in range(self.count)]
        entries = [
            AuditEntry(actor_id=self.account_ids[i], action="role.grant", target_type="account", target_id=str(self.account_ids[i]), detail={"role": "official"})
            for i in range(len(self.names))
        ]
        await AuditEntry.bulk_create(entries, batch_size=500)

    async def add_agencies(self, indexes) -> None:
        indexes = [i for i in indexes if i < len(self.agency_names)]
        await Agency.bulk_create([Agency(slug=self.slugs[i], name_vi=self.agency_names[i], name_en=self.agency_names[i]) for i in indexes], batch_size=500)
        agency_ids = dict(await Agency.all().values_list("slug", "id"))
        grants = [RoleGrant(account_id=self.account_ids[i], role=Role.OFFICIAL, agency_id=agency_ids[self.slugs[i]]) for i in indexes]
        await RoleGrant.bulk_create(grants, batch_size=500)

    def role_of(self, i: int) -> str | None:
        return f"{self.role} ({self.agency_names[i]})" if i < len(self.agency_names) else None

    def payload_of(self, i: int) -> str:
        """The whole payload behind display name i (the search box takes up to 100 characters of it)."""
        return next(p for p in self.cleaned if p[:NAME_LENGTH] == self.names[i])

    async def expected(self) -> Expected:
        expected = Expected()
        expected.names = {self.account_ids[i]: self.display[i] for i in range(self.count)}
        expected.roles = {self.account_ids[i]: self.role_of(i) for i in range(len(self.agency_names))}
        for agency in await Agency.all().values("id", "slug", "name_vi", "name_en"):
            expected.agencies[(agency["slug"], agency["name_vi"], agency["name_en"])] += 1
            expected.options[str(agency["id"])] = agency["name_vi"] if self.language == "vi" else agency["name_en"]
        return expected


async def check_everywhere(w: Watcher, world: World, payloads: list[str], one_value_count: int) -> dict[str, int]:
    """Stores the payloads and reads them back from every page that shows them."""
    stored = Stored(payloads, world)
    await stored.add_accounts()
    # The one-value pages first, while only their own agencies exist: every account page lists all
    # agencies in its role form, and that list is checked once, below.
    chosen = sample(list(range(len(stored.names))), one_value_count)
    await stored.add_agencies(chosen)
    for i in chosen:
        await check_one_value_pages(w, world.accounts["admin"], stored.account_ids[i], stored.names[i], stored.role_of(i), stored.payload_of(i))
    await stored.add_agencies(sorted(set(range(len(stored.agency_names))) - set(chosen)))
    expected = await stored.expected()

    missed = set(expected.names) - await check_accounts_list(w, expected)
    assert not missed, f"{len(missed)} accounts never appeared in the accounts list"
    actors = {f"account {stored.account_ids[i]}": stored.names[i] for i in range(len(stored.names))}
    missed_entries = set(actors) - await check_audit_log(w, actors)
    assert not missed_entries, f"{len(missed_entries)} audit entries never appeared in the audit log"
    await check_agencies(w, expected, option_page=stored.account_ids[0])
    return {"names": len(stored.names), "agencies": len(stored.agency_names), "one_value": len(chosen)}


def big_lists() -> tuple[list[str], list[str]]:
    folder = Path(ENV_SETTINGS.test_data_dir)
    if not folder.is_absolute():
        folder = ROOT / folder
    xss, blns = folder / "xss" / "xss-payload-list.txt", folder / "naughty-strings" / "blns.txt"
    if not xss.is_file() or not blns.is_file():
        missing(f"the shared data folder is not at {folder} (it needs xss/xss-payload-list.txt and naughty-strings/blns.txt)")
    xss_lines = [line for line in xss.read_text(encoding="utf-8").split("\n") if line]
    # blns.txt: one string a line, blank lines and lines starting with # are its comments.
    blns_lines = [line for line in blns.read_text(encoding="utf-8").split("\n") if line and not line.startswith("#")]
    return xss_lines, blns_lines


def say(capsys, message: str) -> None:
    with capsys.disabled():
        print("\n" + message)


# --- tests ----------------------------------------------------------------------------------------


def test_classic_payloads_fit_a_display_name():
    assert len(set(CLASSIC_PAYLOADS)) == len(CLASSIC_PAYLOADS) >= 20
    for payload in CLASSIC_PAYLOADS:
        assert 2 <= len(payload) <= NAME_LENGTH and "@" not in payload and payload == collapsed(payload), payload


@pytest.mark.parametrize("csp", ["enforced", "bypassed"])
async def test_the_detectors_see_script_that_runs_or_is_blocked(app, settings, live_server, browser, csp):
    """The detectors are not blind: markup slipped into a page is reported, as a CSP violation when the
    policy is enforced, as a dialog when it is bypassed."""
    world = await seed_world(settings)
    w = await Watcher.open(browser, live_server, await session_cookie(app, "admin"), bypass_csp=csp == "bypassed")
    try:
        await w.learn_vocabulary(world)
        await w.page.goto(live_server + "/account")
        if csp == "bypassed":
            async with w.page.expect_event("dialog"):
                await w.page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=/probe onerror=alert(42)>')")
        else:
            await w.page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=/probe onerror=alert(42)>')")
            await w.page.wait_for_function("window.__xss.length > 0")
        state = json.loads(await w.page.evaluate(INSPECT, {}))
        hits = state["hits"] + w.events
        assert any(("alert(42)" in hit) if csp == "bypassed" else hit.startswith("CSP script-src-attr") for hit in hits), hits
        assert state["handlers"] and "img" in state["tags"]
    finally:
        await w.close()


async def test_classic_payloads_stay_text_on_every_page(app, settings, live_server, browser, capsys):
    """Stored straight in the database, shown on every page; with the Content-Security-Policy bypassed, so
    that escaping is tested on its own and a payload that got through would really run (the forms test and
    the big lists run with the policy enforced)."""
    world = await seed_world(settings)
    started = time.perf_counter()
    w = await Watcher.open(browser, live_server, await session_cookie(app, "admin"), bypass_csp=True)
    try:
        await w.learn_vocabulary(world)
        counts = await check_everywhere(w, world, CLASSIC_PAYLOADS, len(CLASSIC_PAYLOADS))
        # The home page shows the agency of each open consultation: the two seeded agencies, two payloads a load.
        agencies = await Agency.filter(id__in=[a.id for a in world.agencies]).order_by("id")
        for pair in (CLASSIC_PAYLOADS[i:i + 2] for i in range(0, len(CLASSIC_PAYLOADS), 2)):
            shown = {}
            for agency, payload in zip(agencies, pair * 2):
                agency.name_vi = payload
                await agency.save(update_fields=["name_vi"])
                shown[agency.id] = payload
            open_ones = await Consultation.filter(status=ConsultationStatus.OPEN).values_list("agency_id", flat=True)
            expected = Counter(parsed(shown[agency_id]) for agency_id in open_ones)
            state = await w.visit("/", {"agency": "section[aria-labelledby=open-heading] .card .meta:first-of-type"})
            found = state["found"]["agency"]
            if Counter(f["text"] for f in found) != expected or any(f["descendants"] for f in found):
                w.problem("/", f"agencies of open consultations shown as {[f['text'] for f in found]!r}, stored as {sorted(expected)!r}")
    finally:
        await w.close()
    say(capsys, f"XSS, classic payloads (CSP bypassed): {len(CLASSIC_PAYLOADS)} payloads tried, {counts['names']} display names, "
        f"{counts['agencies']} agencies, {counts['one_value']} through the one-value pages; {w.visits} page loads in {time.perf_counter() - started:.1f} s")
    assert not w.problems, f"{len(w.problems)} problems:\n" + w.report()


async def test_classic_payloads_through_the_forms(app, settings, live_server, browser, capsys):
    """The real forms, filled in Chromium: sign-up, profile, new agency, role form, search."""
    world = await seed_world(settings)
    admin = await Watcher.open(browser, live_server, await session_cookie(app, "admin"))
    visitor = await Watcher.open(browser, live_server, {})
    official = label(Role.OFFICIAL, "vi")
    p = CLASSIC_PAYLOADS
    try:
        await admin.learn_vocabulary(world)
        visitor.vocabulary = admin.vocabulary
        expected = Expected()

        # Sign-up: three accounts (the limit is five an hour per address), then one refused form shown back.
        for i, name in enumerate([p[0], p[5], p[14]]):
            await visitor.visit("/account/signup")
            await visitor.page.fill("#email", f"form-{i}@example.vn")
            await visitor.page.fill("#display_name", name)
            await visitor.page.fill("#password", PASSWORD)
            await visitor.page.check("#consent")
            await visitor.submit("form[action='/account/signup']")
            account = await Account.get(email=f"form-{i}@example.vn")
            assert account.display_name == collapsed(name)
            expected.names[account.id] = collapsed(name)
        await visitor.visit("/account/signup")
        await visitor.page.fill("#email", "not an e-mail address")
        await visitor.page.fill("#display_name", p[1])
        state = await visitor.submit("form[action='/account/signup']", status=400, read={"input": "input#display_name"})
        visitor.expect_text("sign-up form shown back", "display name", state["found"]["input"], p[1], key="value")

        # Profile: the administrator's own name, in the header and the form; then in the audit log.
        for name in (p[3], p[6]):
            await admin.visit("/account")
            await admin.page.fill("#display_name", name)
            state = await admin.submit("form[action='/account']", read={"header": "header a[href='/account'] .visually-hidden", "input": "input#display_name"})
            admin.expect_text("profile saved", "header", state["found"]["header"], ": " + collapsed(name))
            admin.expect_text("profile saved", "profile form", state["found"]["input"], collapsed(name), key="value")
        seen = await check_audit_log(admin, {f"account {world.accounts['official'].id}": collapsed(p[6])})
        assert seen, "the seeded audit entry is not in the audit log"

        # Agencies: two created (flash message, /admin, role form, role label), one refused and shown back.
        for i, name in enumerate([p[11], p[12]]):
            await admin.visit("/admin")
            await admin.page.fill("#slug", f"xss-form-{i}")
            await admin.page.fill("#name_vi", name)
            await admin.page.fill("#name_en", name)
            state = await admin.submit("form[action='/admin/agencies']", read={"flash": "main .notice p"})
            flash = state["found"]["flash"]
            if len(flash) != 1 or parsed(name) not in flash[0]["text"] or flash[0]["descendants"]:
                admin.problem("agency created", f"flash message {flash!r} does not show {name!r} as text")
            agency = await Agency.get(slug=f"xss-form-{i}")
            assert (agency.name_vi, agency.name_en) == (name, name)
        await admin.visit("/admin")
        await admin.page.fill("#slug", p[15])
        await admin.page.fill("#name_vi", p[16])
        await admin.page.fill("#name_en", p[17])
        state = await admin.submit("form[action='/admin/agencies']", status=400, read={"slug": "input#slug", "vi": "input#name_vi", "en": "input#name_en"})
        for key, value in (("slug", p[15]), ("vi", p[16]), ("en", p[17])):
            admin.expect_text("agency form shown back", key, state["found"][key], value, key="value")

        citizen = world.accounts["citizen"]
        agency = await Agency.get(slug="xss-form-1")
        await admin.visit(f"/admin/accounts/{citizen.id}")
        await admin.page.select_option("#role", "official")
        await admin.page.select_option("#agency", str(agency.id))
        state = await admin.submit(f"form[action='/admin/accounts/{citizen.id}/roles']", read={"role": ".role-list button .visually-hidden"})
        admin.expect_text("role granted", "role", state["found"]["role"], f" {official} ({agency.name_vi})")
        expected.roles[citizen.id] = f"{official} ({agency.name_vi})"
        for a in await Agency.all().values("id", "slug", "name_vi", "name_en"):
            expected.agencies[(a["slug"], a["name_vi"], a["name_en"])] += 1
            expected.options[str(a["id"])] = a["name_vi"]
        await check_agencies(admin, expected, option_page=citizen.id)
        await check_accounts_list(admin, expected)

        # Search: the box and the language switcher's return address keep the text as typed.
        for query in (p[2], p[14]):
            await admin.visit("/admin/accounts")
            await admin.page.fill("#q", query)
            state = await admin.submit("form[role=search]", read={"q": "input#q", "next": "input[name=next]"})
            admin.expect_text("search", "search box", state["found"]["q"], query, key="value")
            here = await admin.page.evaluate("location.pathname + location.search")
            admin.expect_text("search", "return address", state["found"]["next"], here, key="value")
    finally:
        await admin.close()
        await visitor.close()
    say(capsys, f"XSS, forms: 12 classic payloads through the sign-up, profile, agency, role and search forms; {admin.visits + visitor.visits} page loads")
    problems = visitor.problems + admin.problems
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


async def test_big_payload_lists_stay_text_on_every_page(app, settings, live_server, browser, capsys):
    """Every line of the XSS payload list and of the Big List of Naughty Strings, on every page."""
    xss_lines, blns_lines = big_lists()
    payloads = list(dict.fromkeys(xss_lines + blns_lines))
    world = await seed_world(settings)
    started = time.perf_counter()
    w = await Watcher.open(browser, live_server, await session_cookie(app, "admin"))
    try:
        await w.learn_vocabulary(world)
        counts = await check_everywhere(w, world, payloads, ENTITY_SAMPLE)
    finally:
        await w.close()
    say(capsys, f"XSS, big lists: {len(payloads)} distinct payloads tried ({len(xss_lines)} XSS lines, {len(blns_lines)} naughty strings): "
        f"{counts['names']} display names, {counts['agencies']} agencies, {counts['one_value']} through the one-value pages; "
        f"{w.visits} page loads in {time.perf_counter() - started:.1f} s")
    assert not w.problems, f"{len(w.problems)} problems:\n" + w.report()
