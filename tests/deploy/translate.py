"""Translates deploy/template.yaml (SAM) into plain CloudFormation, offline.

    python tests/deploy/translate.py deploy/template.yaml OUT.json

aws-sam-translator is the code CloudFormation's AWS::Serverless transform runs; running it here
finds errors inside SAM resources that cfn-lint alone misses (STACK.md), and gives cfn-lint,
checkov and check_template.py the resources AWS would create. No network: the region and
account are fake, and no AWS managed policy is looked up (the template names none through
SAM's Policies property).
"""

import copy
import json
import os
import sys

# Before samtranslator (and boto3 inside it) reads the environment.
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "offline")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "offline")

import yaml  # noqa: E402
from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.parser.parser import Parser  # noqa: E402
from samtranslator.translator.translator import Translator  # noqa: E402


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as their long forms."""


def _construct(tag):
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in ["Ref", "Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "FindInMap", "Join",
             "Select", "Split", "GetAZs", "ImportValue", "Base64", "Cidr", "Condition"]:
    CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


ARTIFACTS = "rewind-offline-artifacts"


def package(template, base):
    """What `sam package` does to local paths, offline: code and nested templates must exist
    (they are uploaded to S3, and their S3 locations replace the paths); state machine
    definitions are read and inlined (Definition), so cfn-lint validates them with their
    substitutions."""
    missing = []
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        kind = res.get("Type")
        if kind == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            path = os.path.join(base, props["CodeUri"])
            if not os.path.isfile(os.path.join(path, "Cargo.toml")):
                missing.append(f"{name}: CodeUri {props['CodeUri']} has no Cargo.toml")
            props["CodeUri"] = f"s3://{ARTIFACTS}/{name}.zip"
        elif kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            path = os.path.join(base, props.pop("DefinitionUri"))
            try:
                with open(path, encoding="utf-8") as f:
                    props["Definition"] = json.load(f)
            except (OSError, ValueError) as e:
                missing.append(f"{name}: DefinitionUri: {e}")
        elif kind == "AWS::Serverless::Application" and isinstance(props.get("Location"), str):
            path = os.path.join(base, props["Location"])
            if not os.path.isfile(path):
                missing.append(f"{name}: Location {props['Location']} does not exist")
            props["Location"] = f"https://{ARTIFACTS}.s3.amazonaws.com/{os.path.basename(path)}"
    if missing:
        raise SystemExit("cannot package the template:\n  " + "\n  ".join(missing))
    return template


def translate(template):
    """The plain CloudFormation of `template`; raises SystemExit listing SAM's errors."""
    translator = Translator(managed_policy_map={}, sam_parser=Parser())
    try:
        return translator.translate(sam_template=template, parameter_values={
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::StackName": "rewind-offline",
            "AWS::URLSuffix": "amazonaws.com",
        })
    except InvalidDocumentException as e:
        lines = [f"  {cause.message}" for cause in e.causes]
        raise SystemExit("aws-sam-translator refused the template:\n" + "\n".join(lines))


def carry_checkov_skips(sam_template, result):
    """SAM keeps a serverless resource's Metadata on its main resource only (the function, the
    REST API), not on what it generates beside it (an API's Stage, a function's Permission).
    A checkov skip written, with its reason, on the SAM resource is about everything made from
    it: copy it onto the generated resources (logical ids that start with the SAM resource's),
    so checkov reads the same skips in the raw and the translated template."""
    for name, res in sam_template.get("Resources", {}).items():
        if not res.get("Type", "").startswith("AWS::Serverless::"):
            continue
        skips = res.get("Metadata", {}).get("checkov")
        if not skips:
            continue
        for gen_name, gen in result["Resources"].items():
            if gen_name != name and gen_name.startswith(name) and "checkov" not in gen.get("Metadata", {}):
                gen.setdefault("Metadata", {})["checkov"] = skips


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, out = sys.argv[1:]
    sam = load(src)
    result = translate(package(copy.deepcopy(sam), os.path.dirname(os.path.abspath(src))))
    carry_checkov_skips(sam, result)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    kinds = {}
    for res in result.get("Resources", {}).values():
        kinds[res["Type"]] = kinds.get(res["Type"], 0) + 1
    print(f"translated {src} -> {out}: {len(result['Resources'])} resources")
    for kind, n in sorted(kinds.items()):
        print(f"  {n:3} {kind}")


if __name__ == "__main__":
    main()
