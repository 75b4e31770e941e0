"""The domains' visibility rules are in force in every process, whatever it imported first."""

import subprocess
import sys

CHECK = """
import sys
from songkhoe.auth import policy
assert "songkhoe.telehealth" not in sys.modules, "imported too early to prove anything"
from_policy = policy.visibility_rules()
from songkhoe.telehealth import access
assert [r.condition for r in from_policy] == [access.visible], from_policy
assert policy.visibility_rules() == from_policy  # registered once
"""


def test_the_rules_are_loaded_before_the_first_decision_even_if_no_domain_was_imported():
    """A worker or command that enforces access without having imported telehealth still hides
    consultations: the policy imports the modules of RULE_MODULES itself."""
    subprocess.run([sys.executable, "-c", CHECK], check=True)
