import pytest

from songkhoe.fhir.searchparams import (
    STORE_COLUMNS,
    SearchParam,
    UnknownSearchParameter,
    choice_types,
    lookup,
    params_for,
    resource_types,
)


def test_resource_types_are_r4():
    types = resource_types()
    assert {"Patient", "Observation", "RiskAssessment", "ExplanationOfBenefit", "Binary"} <= types
    assert "Resource" not in types
    assert "SubscriptionStatus" not in types  # R4B, not R4


def test_shared_expression_is_split_per_type():
    assert lookup("Observation", "patient") == SearchParam(
        "Observation",
        "patient",
        "reference",
        "Observation.subject.where(resolve() is Patient)",
        ("Patient",),
        derived_from=("subject",),
        target_filter="Patient",
    )
    assert lookup("Condition", "code").expression == "Condition.code"
    assert lookup("Encounter", "date").expression == "Encounter.period"


def test_single_base_expression_without_type_is_prefixed():
    assert lookup("InsurancePlan", "name").expression == "InsurancePlan.name | InsurancePlan.alias"


def test_reference_targets_and_types():
    gp = lookup("Patient", "general-practitioner")
    assert gp.targets == ("Organization", "Practitioner", "PractitionerRole")
    assert lookup("Patient", "birthdate").type == "date"
    assert lookup("RiskAssessment", "probability").type == "number"
    assert lookup("Observation", "value-quantity").type == "quantity"
    assert lookup("Patient", "gender").targets == ()


def test_composite_and_special_are_left_out():
    observation = params_for("Observation")
    assert "code-value-quantity" not in observation  # composite
    assert "near" not in params_for("Location")  # special


def test_resource_level_params_on_every_type():
    for resource_type in ("Patient", "Binary", "AuditEvent"):
        params = params_for(resource_type)
        assert params["_tag"].expression == f"{resource_type}.meta.tag"
        assert params["_tag"].type == "token"
        assert params["_security"].type == "token"
        assert params["_profile"].type == "uri"
    assert lookup("Task", "_id").type == "token"
    assert lookup("Task", "_lastUpdated").type == "date"
    assert STORE_COLUMNS == {"_id", "_lastUpdated"}


def test_unknown_parameter_names_type_and_parameter():
    with pytest.raises(UnknownSearchParameter) as info:
        lookup("Patient", "shoe-size")
    assert isinstance(info.value, KeyError)
    assert "shoe-size" in str(info.value) and "Patient" in str(info.value)
    with pytest.raises(UnknownSearchParameter, match="Unicorn"):
        lookup("Unicorn", "name")


def test_unknown_resource_type():
    with pytest.raises(KeyError, match="Unicorn"):
        params_for("Unicorn")


def test_choice_types():
    assert "Quantity" in choice_types("Observation.value")
    assert set(choice_types("RiskAssessment.prediction.probability")) == {"decimal", "Range"}
    assert choice_types("Observation.code") == ()


def test_parameters_covered_by_others_are_marked_derived():
    combo = lookup("Observation", "combo-value-quantity")
    assert combo.derived_from == ("component-value-quantity", "value-quantity")
    assert combo.target_filter is None
    assert lookup("Encounter", "practitioner").derived_from == ("participant",)
    assert lookup("Observation", "code").derived_from == ()
    # a union over two different elements with a type filter stays indexed on its own
    assert lookup("AuditEvent", "patient").derived_from == ()
