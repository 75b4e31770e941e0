"""The dashboard shows the open surveillance alerts of the viewer's place (issue 6:
"Dashboards: the NCD indicators by month and by commune, with trends; surveillance alerts")."""

from datetime import date

from songkhoe.places.catalog import commune
from songkhoe.surveillance.alerts import Signal, alert_resource

from .conftest import HOME, add_users, logged_in


def test_the_dashboard_lists_the_open_alerts_of_the_place(store):
    alert = alert_resource(
        Signal("measles", HOME, date(2025, 3, 3), "cusum", {}, 4, 1.5, (0, 0, 0, 1, 4), 900)
    )
    store.create_many([alert])
    add_users(
        store,
        {
            "manager": ("provincial_manager", "province:24"),
            "elsewhere": ("provincial_manager", "province:01"),
        },
    )
    html = logged_in(store, "manager").get("/dashboard").text
    assert "Cảnh báo đang chờ xem xét: 1" in html
    assert commune(HOME).full_name in html and f"/surveillance/alerts/{alert['id']}" in html
    other = logged_in(store, "elsewhere").get("/dashboard").text
    assert "Cảnh báo đang chờ xem xét" not in other
