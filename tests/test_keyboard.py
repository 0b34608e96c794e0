"""Keyboard only, in Chromium: sign up, confirm the e-mail address, sign in and out with Tab, typing,
Space and Enter (never a click). Focus moves in a logical order, starts at the skip link, and every
element that takes focus shows a visible focus indicator."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.async_api import Page, expect

from consult.models import Account
from tests.helpers import PASSWORD
from tests.site import seed_world

# What a person sees of the focused element, and what changes when it takes focus.
FOCUSED_JS = """el => {
  const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
  return {tag: el.tagName.toLowerCase(), id: el.id || '', name: el.getAttribute('name') || '',
          type: el.getAttribute('type') || '', href: el.getAttribute('href') || '', text: text};
}"""
STYLE_JS = """el => {
  const s = getComputedStyle(el);
  return {outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth, outlineColor: s.outlineColor,
          boxShadow: s.boxShadow, backgroundColor: s.backgroundColor};
}"""
# Elements that can take focus with Tab, in document order, and shown (not hidden, not display: none).
TABBABLE_JS = """() => Array.from(document.querySelectorAll(
    'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]'))
  .filter(el => el.tabIndex >= 0 && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
  .map(el => ({tag: el.tagName.toLowerCase(), id: el.id || '', name: el.getAttribute('name') || '',
               href: el.getAttribute('href') || '', tabindex: el.tabIndex}))"""
TRANSPARENT = {"transparent", "rgba(0, 0, 0, 0)"}


def px(value: str) -> float:
    match = re.match(r"([\d.]+)px", value)
    return float(match.group(1)) if match else 0.0


def indicator(focused: dict, unfocused: dict) -> list[str]:
    """What visibly changes when the element takes focus: a drawn outline, a shadow, a background."""
    changes = []
    outline_drawn = (
        focused["outlineStyle"] != "none" and px(focused["outlineWidth"]) >= 1 and focused["outlineColor"] not in TRANSPARENT
    )
    outline_keys = ("outlineStyle", "outlineWidth", "outlineColor")
    if outline_drawn and any(focused[k] != unfocused[k] for k in outline_keys):
        changes.append("outline")
    if focused["boxShadow"] != "none" and focused["boxShadow"] != unfocused["boxShadow"]:
        changes.append("box-shadow")
    if focused["backgroundColor"] != unfocused["backgroundColor"] and focused["backgroundColor"] not in TRANSPARENT:
        changes.append("background")
    return changes


def kind(stop: dict) -> str:
    if stop["tag"] == "input":
        return "checkbox" if stop["type"] == "checkbox" else "input"
    return {"a": "link", "button": "button", "select": "select"}.get(stop["tag"], stop["tag"])


def label(stop: dict) -> str:
    return f"<{stop['tag']}> id={stop['id']!r} name={stop['name']!r} href={stop['href']!r} text={stop['text']!r}"


@dataclass
class Keyboard:
    """Presses keys and records each element that takes focus, with its style focused and not focused."""

    page: Page
    stops: list[dict] = field(default_factory=list)  # every focus stop since the last reset()
    indicators: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # (url, element, kind, changes)
    _current: tuple | None = None  # (stop, handle, style while focused) of the focused element

    def reset(self) -> None:
        self.stops = []

    async def _after_focus_moved(self) -> dict:
        """Records the element that had focus (its style now, unfocused) and takes the new one's style."""
        handle = await self.page.evaluate_handle("document.activeElement")
        stop = await handle.evaluate(FOCUSED_JS)
        if self._current is not None:
            old_stop, old_handle, focused_style = self._current
            if await old_handle.evaluate("el => el === document.activeElement"):
                await handle.dispose()
                return stop
            unfocused_style = await old_handle.evaluate(STYLE_JS)
            self.indicators.append((self.page.url, label(old_stop), kind(old_stop), indicator(focused_style, unfocused_style)))
            await old_handle.dispose()
            self._current = None
        if stop["tag"] in ("body", "main"):  # not controls: nothing to operate, no indicator needed
            await handle.dispose()
        else:
            self._current = (stop, handle, await handle.evaluate(STYLE_JS))
        return stop

    async def tab(self, shift: bool = False) -> dict:
        await self.page.keyboard.press("Shift+Tab" if shift else "Tab")
        stop = await self._after_focus_moved()
        self.stops.append(stop)
        return stop

    async def tab_until(self, matches, limit: int = 40) -> dict:
        for _ in range(limit):
            stop = await self.tab()
            if matches(stop):
                return stop
        raise AssertionError("never reached with Tab; focus went through:\n" + "\n".join(label(s) for s in self.stops))

    async def type(self, text: str) -> None:
        await self.page.keyboard.type(text)

    async def press(self, key: str) -> dict:
        """A key that stays on the page (Space on a checkbox, Enter on an in-page link): what has focus after it."""
        await self.page.keyboard.press(key)
        return await self._after_focus_moved()

    async def submit(self, key: str = "Enter"):
        """A key that loads another page (Enter on a link or a button): the response of the new page."""
        if self._current is not None:  # the element goes away with the page: its unfocused style cannot be read
            await self._current[1].dispose()
            self._current = None
        async with self.page.expect_navigation() as navigation:
            await self.page.keyboard.press(key)
        self.reset()
        return await navigation.value

    async def skip_to_main(self) -> None:
        """On a page just loaded: Tab once reaches the skip link, shown on screen; Enter on it moves focus to #main."""
        self.reset()
        first = await self.tab()
        assert first["tag"] == "a" and first["href"] == "#main", f"the first Tab stop is not the skip link: {label(first)}"
        skip = self.page.locator("a.skip-link")
        await expect(skip).to_be_focused()
        await expect(skip).to_be_in_viewport()
        await self.press("Enter")
        await expect(self.page.locator("#main")).to_be_focused()

    async def load(self, url: str):
        """Loads a page by its address (as typed or followed from an e-mail); focus starts at the top."""
        self._current = None
        self.reset()
        response = await self.page.goto(url)
        return response


async def keyboard_page(browser, live_server, path: str = "/") -> tuple:
    context = await browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    response = await page.goto(live_server + path)
    assert response.status == 200
    assert await page.get_attribute("html", "lang") == "vi"
    return context, page, Keyboard(page)


async def walk_whole_page(keys: Keyboard, url: str) -> list[dict]:
    """Loads the page and Tabs from its top to its end: the stops must be its focusable elements in document order."""
    response = await keys.load(url)
    assert response.status == 200
    expected = await keys.page.evaluate(TABBABLE_JS)
    assert all(e["tabindex"] == 0 for e in expected), f"positive tabindex breaks the reading order: {expected}"
    for _ in range(len(expected)):
        await keys.tab()
    got = [{k: s[k] for k in ("tag", "id", "name", "href")} for s in keys.stops]
    assert got == [{k: e[k] for k in ("tag", "id", "name", "href")} for e in expected], (
        "the Tab order is not the order of the page:\n" + "\n".join(label(s) for s in keys.stops)
    )
    await keys.tab()  # off the last element, so that its style unfocused is recorded
    return keys.stops[: len(expected)]


def assert_focus_is_visible(keys: Keyboard, kinds: set[str]) -> None:
    invisible = [f"{url}: {element}" for url, element, _, changes in keys.indicators if not changes]
    assert not invisible, "no visible focus indicator on:\n" + "\n".join(invisible)
    seen = {k for _, _, k, _ in keys.indicators}
    assert kinds <= seen, f"focus indicators were checked on {seen}, not on {kinds - seen}"


async def test_sign_up_and_confirm_with_the_keyboard_only(app, settings, live_server, browser, mailbox):
    await seed_world(settings)  # the home page as people see it: open consultations
    context, page, keys = await keyboard_page(browser, live_server, "/")
    try:
        # The home page: the skip link first, then the header, the content and the footer, in order.
        await keys.skip_to_main()
        order = await walk_whole_page(keys, live_server + "/")
        hrefs = [s["href"] for s in order if s["tag"] == "a"]
        assert hrefs[:4] == ["#main", "/", "/account/signin", "/account/signup"], hrefs
        assert hrefs[-2:] == ["/accessibility", "/privacy"], hrefs
        assert any(s["tag"] == "button" and s["name"] == "language" for s in order), "the language switcher takes no focus"

        # From the top of the home page to the sign-up link in the header, then Enter.
        await keys.load(live_server + "/")
        await keys.tab_until(lambda s: s["href"] == "/account/signup")
        assert [s["href"] for s in keys.stops] == ["#main", "/", "/account/signin", "/account/signup"]
        response = await keys.submit()
        assert response.status == 200 and page.url == live_server + "/account/signup"
        await expect(page.locator("h1")).to_have_text("Đăng ký tài khoản")

        # Empty form sent with Enter from the first field: the error summary, whose links lead to the fields.
        await keys.skip_to_main()
        assert (await keys.tab())["id"] == "email"
        response = await keys.submit()
        assert response.status == 400
        summary = page.locator(".error-summary")
        await expect(summary).to_be_visible()
        await expect(summary.locator("h2")).to_have_text("Có lỗi cần khắc phục")
        assert await summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))") == [
            "#email", "#display_name", "#password", "#consent"
        ]
        await keys.skip_to_main()
        first_error = await keys.tab()
        assert first_error["href"] == "#email", label(first_error)
        await keys.press("Enter")
        await expect(page.locator("#email")).to_be_focused()
        # Back from the first field: the last error link, which leads to the consent checkbox.
        last_error = await keys.tab(shift=True)
        assert last_error["href"] == "#consent", label(last_error)
        await keys.press("Enter")
        await expect(page.locator("#consent")).to_be_focused()
        # Back up to the first field, then the whole form in order, filled with typing and Space.
        assert [(await keys.tab(shift=True))["id"] for _ in range(3)] == ["password", "display_name", "email"]
        keys.reset()
        await keys.type("lan@example.vn")
        for expected, text in (("display_name", "Lan Keyboard"), ("password", PASSWORD)):
            stop = await keys.tab()
            assert stop["tag"] == "input" and stop["id"] == expected, label(stop)
            await keys.type(text)
        checkbox = await keys.tab()
        assert checkbox["id"] == "consent" and checkbox["type"] == "checkbox", label(checkbox)
        await keys.press("Space")
        await expect(page.locator("#consent")).to_be_checked()
        assert (await keys.tab())["href"] == "/privacy"
        button = await keys.tab()
        assert button["tag"] == "button" and button["text"] == "Tạo tài khoản", label(button)
        response = await keys.submit()
        assert response.status == 200
        assert page.url == live_server + "/account/check-email"
        await expect(page.locator("h1")).to_have_text("Vui lòng kiểm tra email")
        await expect(page.locator("main")).to_contain_text("lan@example.vn")
        account = await Account.get(email="lan@example.vn")
        assert account.display_name == "Lan Keyboard" and account.email_verified_at is None

        # The link in the e-mail, then the confirmation button, with the keyboard.
        link = (await mailbox.last("lan@example.vn")).link("/account/verify/")
        response = await keys.load(live_server + link)
        assert response.status == 200
        await expect(page.locator("h1")).to_have_text("Xác nhận địa chỉ email")
        await keys.skip_to_main()
        button = await keys.tab()
        assert button["tag"] == "button" and button["text"] == "Xác nhận địa chỉ email của tôi", label(button)
        await keys.tab()
        await keys.tab(shift=True)  # back to the button: its style unfocused and focused are recorded
        response = await keys.submit()
        assert response.status == 200 and page.url == live_server + "/account/signin"
        await expect(page.locator(".notice")).to_have_text("Địa chỉ email của bạn đã được xác nhận.")
        assert (await Account.get(email="lan@example.vn")).email_verified_at is not None
    finally:
        await context.close()
    assert_focus_is_visible(keys, {"link", "input", "checkbox", "button"})


async def test_sign_in_and_out_with_the_keyboard_only(app, settings, live_server, browser):
    await seed_world(settings)
    context, page, keys = await keyboard_page(browser, live_server, "/")
    try:
        await keys.tab_until(lambda s: s["href"] == "/account/signin")
        response = await keys.submit()
        assert response.status == 200 and page.url == live_server + "/account/signin"
        await expect(page.locator("h1")).to_have_text("Đăng nhập")

        # The form's order: e-mail, password, the button; nothing in between.
        await keys.skip_to_main()
        email = await keys.tab()
        await keys.type("citizen@example.vn")
        password = await keys.tab()
        await keys.type(PASSWORD)
        button = await keys.tab()
        order = [(s["tag"], s["type"], s["id"] or s["text"]) for s in (email, password, button)]
        assert order == [("input", "email", "email"), ("input", "password", "password"), ("button", "submit", "Đăng nhập")], order
        await expect(page.locator("#email")).to_have_value("citizen@example.vn")
        await expect(page.locator("#password")).to_have_value(PASSWORD)
        after = await keys.tab()
        providers = []  # then a button for each identity provider (tests.oidc_provider configures two)
        while after["href"].startswith("/account/identity/"):
            providers.append(after["href"])
            after = await keys.tab()
        assert providers == ["/account/identity/test?next=/account", "/account/identity/offline?next=/account"], providers
        assert after["href"] == "/account/reset", label(after)
        for _ in range(len(providers) + 1):  # back to the sign-in button
            await keys.tab(shift=True)
        response = await keys.submit()
        assert response.status == 200
        assert page.url == live_server + "/account"
        await expect(page.locator("h1")).to_have_text("Tài khoản của bạn")
        await expect(page.locator(".notice")).to_have_text("Bạn đã đăng nhập.")

        # Signed in: the whole page in order, then sign out with the header's button.
        await walk_whole_page(keys, live_server + "/account")
        await keys.load(live_server + "/account")
        sign_out = await keys.tab_until(lambda s: s["tag"] == "button" and s["text"] == "Đăng xuất")
        assert [s["href"] for s in keys.stops[:4]] == ["#main", "/", "/account/participation", "/account"], [label(s) for s in keys.stops]
        assert sign_out["type"] == "submit"
        await keys.tab()
        await keys.tab(shift=True)
        response = await keys.submit()
        assert response.status == 200 and page.url == live_server + "/"
        await expect(page.locator(".notice")).to_have_text("Bạn đã đăng xuất.")
        await expect(page.locator(".account-nav")).to_contain_text("Đăng nhập")
    finally:
        await context.close()
    assert_focus_is_visible(keys, {"link", "input", "button", "select"})
