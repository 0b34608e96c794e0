"""Without JavaScript, in Chromium: every page of the registry loads, and a person can sign up, confirm the
e-mail address, sign in, switch language, change the profile and sign out, in the language chosen."""

from __future__ import annotations

from playwright.async_api import expect

from consult.models import Account
from tests.helpers import PASSWORD
from tests.site import PAGES, seed_world, session_cookie


async def no_script_context(browser, **options):
    context = await browser.new_context(java_script_enabled=False, **options)
    page = await context.new_page()
    # The page's own scripts cannot run: a script added to the page does nothing.
    await page.set_content("<p id=probe>off</p><script>document.getElementById('probe').textContent = 'on'</script>")
    await expect(page.locator("#probe")).to_have_text("off")
    return context, page


async def test_the_account_journey_works_without_javascript(app, settings, live_server, browser, mailbox):
    # A browser that asks for neither Vietnamese nor English gets the default language, Vietnamese.
    context, page = await no_script_context(browser, locale="fr-FR")
    try:
        response = await page.goto(live_server + "/")
        assert response.status == 200
        assert await page.get_attribute("html", "lang") == "vi"
        await expect(page.locator("h1")).to_have_text("Góp ý dự thảo chính sách, văn bản pháp luật")

        # Sign up.
        async with page.expect_navigation():
            await page.locator(".account-nav").get_by_role("link", name="Đăng ký tài khoản").click()
        assert page.url == live_server + "/account/signup"
        await page.get_by_label("Địa chỉ email", exact=True).fill("khong.js@example.vn")
        await page.get_by_label("Tên hiển thị công khai", exact=True).fill("Người không JS")
        await page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        await page.locator("#consent").check()
        async with page.expect_navigation() as navigation:
            await page.get_by_role("button", name="Tạo tài khoản").click()
        assert (await navigation.value).status == 200
        assert page.url == live_server + "/account/check-email"
        await expect(page.locator("h1")).to_have_text("Vui lòng kiểm tra email")
        await expect(page.locator("main")).to_contain_text("khong.js@example.vn")
        account = await Account.get(email="khong.js@example.vn")
        assert account.email_verified_at is None and account.language == "vi"

        # Confirm the e-mail address from the link in the message.
        mail = await mailbox.last("khong.js@example.vn")
        assert mail.language == "vi"
        response = await page.goto(live_server + mail.link("/account/verify/"))
        assert response.status == 200
        await expect(page.locator("h1")).to_have_text("Xác nhận địa chỉ email")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Xác nhận địa chỉ email của tôi").click()
        assert page.url == live_server + "/account/signin"
        await expect(page.locator(".notice")).to_have_text("Địa chỉ email của bạn đã được xác nhận.")
        assert (await Account.get(id=account.id)).email_verified_at is not None

        # Sign in.
        await page.get_by_label("Địa chỉ email", exact=True).fill("khong.js@example.vn")
        await page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
        async with page.expect_navigation():
            await page.locator("main").get_by_role("button", name="Đăng nhập").click()
        assert page.url == live_server + "/account"
        await expect(page.locator("h1")).to_have_text("Tài khoản của bạn")
        await expect(page.locator(".notice")).to_have_text("Bạn đã đăng nhập.")
        await expect(page.locator("main")).to_contain_text("khong.js@example.vn")

        # Switch to English with the header's switcher: the same page, in English, and the account remembers it.
        async with page.expect_navigation():
            await page.locator(".language-switcher").get_by_role("button", name="English").click()
        assert page.url == live_server + "/account"
        assert await page.get_attribute("html", "lang") == "en"
        await expect(page.locator("h1")).to_have_text("Your account")
        await expect(page.locator(".language-switcher")).to_contain_text("Current language: English")
        await expect(page.locator(".language-switcher").get_by_role("button", name="Tiếng Việt")).to_be_visible()
        assert (await Account.get(id=account.id)).language == "en"

        # Change the profile.
        await expect(page.get_by_label("Language of pages and e-mails", exact=True)).to_have_value("en")
        await page.get_by_label("Public display name", exact=True).fill("Lan, no script")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Save").click()
        assert page.url == live_server + "/account"
        await expect(page.locator(".notice")).to_have_text("Your profile has been saved.")
        await expect(page.get_by_label("Public display name", exact=True)).to_have_value("Lan, no script")
        await expect(page.locator(".account-nav")).to_contain_text("Lan, no script")
        stored = await Account.get(id=account.id)
        assert (stored.display_name, stored.language) == ("Lan, no script", "en")

        # Sign out: the home page, still in English, signed out.
        async with page.expect_navigation():
            await page.locator(".account-nav").get_by_role("button", name="Sign out").click()
        assert page.url == live_server + "/"
        assert await page.get_attribute("html", "lang") == "en"
        await expect(page.locator(".notice")).to_have_text("You are signed out.")
        await expect(page.locator("h1")).to_have_text("Have your say on draft policies and laws")
        await expect(page.locator(".account-nav").get_by_role("link", name="Sign in")).to_be_visible()
        response = await page.goto(live_server + "/account")
        assert response.status == 200 and page.url == live_server + "/account/signin?next=/account"
        await expect(page.locator("h1")).to_have_text("Sign in")

        # And back to Vietnamese, signed out: the cookie carries the choice.
        async with page.expect_navigation():
            await page.locator(".language-switcher").get_by_role("button", name="Tiếng Việt").click()
        assert page.url == live_server + "/account/signin?next=/account"
        assert await page.get_attribute("html", "lang") == "vi"
        await expect(page.locator("h1")).to_have_text("Đăng nhập")
        assert {c["name"]: c["value"] for c in await context.cookies()}["lang"] == "vi"
    finally:
        await context.close()


async def test_every_page_loads_without_javascript(app, settings, live_server, browser):
    world = await seed_world(settings)
    problems = []
    checked = 0
    for role in dict.fromkeys(spec.role for spec in PAGES):
        cookies = await session_cookie(app, role)
        context, page = await no_script_context(browser)
        try:
            await context.add_cookies([{"name": k, "value": v, "url": live_server} for k, v in cookies.items()])
            for spec in (s for s in PAGES if s.role == role):
                url = live_server + spec.url(world)
                response = await page.goto(url)
                headings = await page.locator("h1").all_inner_texts()
                if response.status != spec.status:
                    problems.append(f"{spec.name} ({url}, {role}): status {response.status}, not {spec.status}")
                if len(headings) != 1 or not headings[0].strip():
                    problems.append(f"{spec.name} ({url}, {role}): h1 {headings}")
                checked += 1
        finally:
            await context.close()
    assert checked == len(PAGES)
    assert not problems, "\n".join(problems)
