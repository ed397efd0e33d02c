"""samconfig.toml as the SAM CLI and scripts/deploy.sh read it, and the SAM build's pieces held
together: every function of the template is built by infra/Makefile as the crate its CodeUri names
(python -m unittest)."""

import re
import tomllib
import unittest
from pathlib import Path

import samconfig
from template_check import read_template, resources_of_type

REPO = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((REPO / "samconfig.toml").read_text())
COMMON = (REPO / "scripts/lib/common.sh").read_text()


def shell_constant(name):
    return re.search(rf'^{name}="([^"]*)"', COMMON, re.M).group(1)


class Samconfig(unittest.TestCase):
    def test_a_commands_own_parameter_wins_over_the_environments_global_one(self):
        config = {"e": {"global": {"parameters": {"stack_name": "a", "region": "r"}},
                        "deploy": {"parameters": {"stack_name": "b"}}}}
        self.assertEqual(samconfig.parameters(config, "e", "deploy"), {"stack_name": "b", "region": "r"})
        self.assertEqual(samconfig.parameters(config, "e", "build"), {"stack_name": "a", "region": "r"})

    def test_an_unknown_environment_is_refused_with_the_ones_there_are(self):
        with self.assertRaisesRegex(ValueError, "no environment 'prod' .*default, local"):
            samconfig.parameters(CONFIG, "prod", "deploy")

    def test_a_deploy_to_aws_is_reviewed_and_one_to_the_local_stack_is_not(self):
        self.assertIs(samconfig.parameters(CONFIG, "default", "deploy")["confirm_changeset"], True)
        self.assertIs(samconfig.parameters(CONFIG, "local", "deploy")["confirm_changeset"], False)
        self.assertEqual(samconfig.shell_value(True), "true")
        self.assertEqual(samconfig.shell_value(None), "")

    def test_both_environments_name_the_stack_the_other_scripts_default_to(self):
        for environment in ("default", "local"):
            self.assertEqual(samconfig.parameters(CONFIG, environment, "deploy")["stack_name"],
                             shell_constant("LOCAL_STACK_NAME"))
        self.assertEqual(samconfig.parameters(CONFIG, "local", "deploy")["region"], shell_constant("LOCAL_REGION"))

    def test_the_commands_that_read_the_source_template_are_pointed_at_it(self):
        for environment in ("default", "local"):
            self.assertEqual(samconfig.parameters(CONFIG, environment, "build")["template_file"], "infra/template.yaml")
        for command in ("validate", "sync"):
            self.assertEqual(samconfig.parameters(CONFIG, "default", command)["template_file"], "infra/template.yaml")
        # sam deploy must take sam build's template, whose code is built: never the source one.
        for environment in ("default", "local"):
            self.assertNotIn("template_file", samconfig.parameters(CONFIG, environment, "deploy"))


class SamBuild(unittest.TestCase):
    def test_every_function_is_built_by_the_makefile_as_the_crate_its_code_uri_names(self):
        functions = resources_of_type(read_template(REPO / "infra/template.yaml"), "AWS::Serverless::Function")
        makefile = (REPO / "infra/Makefile").read_text()
        targets = dict(re.findall(r"^build-(\w+): FUNCTION = ([\w-]+)$", makefile, re.M))
        crates = {}
        for name, function in functions.items():
            metadata = function.get("Metadata", {})
            self.assertEqual((metadata.get("BuildMethod"), metadata.get("ContextPath"), metadata.get("WorkingDirectory")),
                             ("makefile", ".", ".."), name)
            code_uri = function["Properties"]["CodeUri"]
            self.assertRegex(code_uri, r"^\.\./crates/[\w-]+$", name)
            self.assertTrue((REPO / "infra" / code_uri / "Cargo.toml").is_file(), code_uri)
            crates[name] = code_uri.rsplit("/", 1)[1]
        self.assertEqual(targets, crates)
        self.assertEqual(set(crates.values()), set(shell_constant("FUNCTIONS").split(",")))


if __name__ == "__main__":
    unittest.main()
