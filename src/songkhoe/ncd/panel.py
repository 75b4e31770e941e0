"""The NCD panel of a person's chart (`songkhoe.ncd.chart`, read and audited there): the WHO CVD
risk with its inputs, diagnoses and medicines, blood-pressure and glucose trends drawn as SVG
in the interface language, the latest measurements, the visits and calls; and, for who may
write, the way to a new check-up. It comes first on the record page."""

from collections.abc import Callable

from markupsafe import Markup

from songkhoe.fhir.store import ResourceStore
from songkhoe.ncd import texts as _texts  # noqa: F401  (registers the interface text)
from songkhoe.ncd.chart import Chart, load
from songkhoe.web import svg
from songkhoe.web.pages import Viewer, register_chart_panel

Translate = Callable[[str], str]


def bp_trend(chart: Chart, t: Translate) -> Markup:
    """The blood-pressure readings, systolic and diastolic, with the 140/90 thresholds."""
    return svg.trend(
        t("bp_trend"),
        [
            svg.Series(t("systolic"), [(day, sbp) for day, sbp, _ in chart.pressures], "s1"),
            svg.Series(t("diastolic"), [(day, dbp) for day, _, dbp in chart.pressures], "s2"),
        ],
        [svg.Reference(140, "140"), svg.Reference(90, "90")],
        unit="mmHg",
    )


def glucose_trend(chart: Chart, t: Translate) -> Markup:
    """The fasting glucose readings with the 7.0 mmol/L threshold of diabetes."""
    return svg.trend(
        t("glucose_trend"),
        [svg.Series(t("glucose"), chart.glucose, "s3")],
        [svg.Reference(7.0, "7,0")],
        unit="mmol/L",
    )


def chart_panel(_store: ResourceStore, who: Viewer, patient_id: str) -> dict:
    """The panel's context; the template draws the trends with its own translator `t`."""
    chart = load(who.caller, patient_id)
    return {
        "patient_id": patient_id,
        "chart": chart,
        "can_write": who.principal.allows("Observation", "write"),
        "bp_trend": lambda t: bp_trend(chart, t),
        "glucose_trend": lambda t: glucose_trend(chart, t),
    }


register_chart_panel("ncd/chart_panel.html", chart_panel, order=0)
