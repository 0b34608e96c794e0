"""The consult package's routes."""

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from consult.web import api, dashboard, feed, identity, manage, participate, public, reports, views
from consult.web.templating import TEMPLATE_DIR

STATIC_DIR = TEMPLATE_DIR.parent / "static"

routes = [
    Route("/", views.home, name="home"),
    Route("/accessibility", views.accessibility, name="accessibility"),
    Route("/privacy", views.privacy, name="privacy"),
    Route("/language", views.change_language, methods=["POST"], name="language"),
    Route("/healthz", views.healthz, name="healthz"),
    Route("/account/signup", views.signup, methods=["GET", "POST"], name="signup"),
    Route("/account/check-email", views.check_email, name="check_email"),
    Route("/account/verify/resend", views.resend_verification, methods=["POST"], name="resend_verification"),
    Route("/account/verify/{token}", views.verify, methods=["GET", "POST"], name="verify"),
    Route("/account/signin", views.signin, methods=["GET", "POST"], name="signin"),
    Route("/account/signout", views.signout, methods=["POST"], name="signout"),
    *identity.routes,
    Route("/account/reset", views.reset_request, methods=["GET", "POST"], name="reset_request"),
    Route("/account/reset/{token}", views.reset_password, methods=["GET", "POST"], name="reset_password"),
    Route("/account", views.profile, methods=["GET", "POST"], name="profile"),
    Route("/account/password", views.change_password, methods=["GET", "POST"], name="change_password"),
    Route("/admin", views.admin_home, name="admin"),
    Route("/admin/agencies", views.admin_create_agency, methods=["POST"], name="admin_create_agency"),
    Route("/admin/topics", views.admin_create_topic, methods=["POST"], name="admin_create_topic"),
    Route("/admin/accounts", views.admin_accounts, name="admin_accounts"),
    Route("/admin/accounts/{account_id:int}", views.admin_account, name="admin_account"),
    Route("/admin/accounts/{account_id:int}/roles", views.admin_grant_role, methods=["POST"], name="admin_grant_role"),
    Route("/admin/accounts/{account_id:int}/roles/revoke", views.admin_revoke_role, methods=["POST"], name="admin_revoke_role"),
    *feed.routes,  # before the public pages, whose /consultations/{slug} would take its address
    *public.routes,
    *api.routes,
    *participate.routes,
    *reports.routes,
    *dashboard.routes,  # before manage's /manage/{consultation_id:int}
    *manage.routes,
    Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"),
]
