"""CloudFormation templates resolved as CloudFormation would: parameters, pseudo parameters, intrinsics in both
forms, conditions, coercion, and what cannot be known without deploying (read only; no engine)."""

import textwrap

import pytest

from cruddur_ops.ddb import schema
from cruddur_ops.errors import SchemaError
from cruddur_ops.io.cloudformation import Context

KEYS = """\
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
"""


def template(tmp_path, body, *, params="", extra="", name="stack.yaml"):
    text = "AWSTemplateFormatVersion: '2010-09-09'\n"
    if params:
        text += "Parameters:\n" + textwrap.indent(textwrap.dedent(params), "  ")
    text += textwrap.dedent(extra)
    text += "Resources:\n  Orders:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
    text += textwrap.indent(textwrap.dedent(body), "      ") + KEYS
    path = tmp_path / name
    path.write_text(text)
    return path


def one(path, **ctx):
    (spec,) = schema.read([path], context=Context(**ctx)).tables
    return spec


def test_ref_to_parameters_defaults_overrides_and_coercion(tmp_path):
    path = template(tmp_path, """\
        TableName: !Ref Name
        BillingMode: PROVISIONED
        ProvisionedThroughput: {ReadCapacityUnits: !Ref Reads, WriteCapacityUnits: {Ref: Reads}}
        DeletionProtectionEnabled: !Ref Protect
        """, params="""\
        Name: {Type: String, Default: orders-dev, AllowedPattern: "[a-z-]+"}
        Reads: {Type: Number, Default: 5, MinValue: 1, MaxValue: 100}
        Protect: {Type: String, Default: false, AllowedValues: ["true", "false"]}
        """)
    spec = one(path)
    assert spec.name == "orders-dev"
    assert spec.request["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    assert spec.request["DeletionProtectionEnabled"] is False
    spec = one(path, parameters={"Reads": "7", "Protect": "true", "Name": "orders-prod"})
    assert (spec.name, spec.request["ProvisionedThroughput"]["ReadCapacityUnits"]) == ("orders-prod", 7)
    assert spec.request["DeletionProtectionEnabled"] is True


@pytest.mark.parametrize("overrides,message", [
    ({"Reads": "500"}, "parameter 'Reads' (--parameter-overrides '500'): 500 is above MaxValue 100"),
    ({"Reads": "0"}, "0 is below MinValue 1"),
    ({"Reads": "many"}, "'many' is not a number (Type Number)"),
    ({"Protect": "maybe"}, "'maybe' is not one of AllowedValues ['true', 'false']"),
    ({"Name": "Orders_1"}, "does not match AllowedPattern '[a-z-]+'"),
    ({"Colour": "blue"}, "the template has no parameter 'Colour'"),
])
def test_a_parameter_value_outside_its_rules_is_one_line_naming_it(tmp_path, overrides, message):
    path = template(tmp_path, "TableName: !Ref Name\nBillingMode: PROVISIONED\n"
                    "ProvisionedThroughput: {ReadCapacityUnits: !Ref Reads, WriteCapacityUnits: 1}\n"
                    "DeletionProtectionEnabled: !Ref Protect\n", params="""\
        Name: {Type: String, Default: orders, AllowedPattern: "[a-z-]+"}
        Reads: {Type: Number, Default: 5, MinValue: 1, MaxValue: 100}
        Protect: {Type: String, Default: false, AllowedValues: ["true", "false"]}
        """)
    with pytest.raises(SchemaError) as err:
        one(path, parameters=overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_parameter_without_default_or_value(tmp_path):
    path = template(tmp_path, "TableName: !Ref Name\nBillingMode: PAY_PER_REQUEST\n", params="Name: {Type: String}\n")
    with pytest.raises(SchemaError, match=r"stack.yaml:3: Parameters.Name: parameter 'Name' has no Default and no "
                                          r"value; pass --parameter-overrides Name=VALUE"):
        one(path)
    assert one(path, parameters={"Name": "given"}).name == "given"


def test_pseudo_parameters_and_sub_in_both_forms(tmp_path):
    path = template(tmp_path, """\
        TableName: !Sub "${AWS::StackName}-${Env}-${AWS::Region}"
        BillingMode: PAY_PER_REQUEST
        Tags:
          - {Key: account, Value: !Sub "${AWS::AccountId}/${AWS::Partition}/${AWS::URLSuffix}"}
          - Key: literal
            Value: {"Fn::Sub": ["${Who}-${!Kept}", {Who: !Ref Env}]}
        """, params="Env: {Type: String, Default: dev}\n")
    spec = one(path, stack_name="shop", region="eu-west-1")
    assert spec.name == "shop-dev-eu-west-1"
    assert spec.tags() == {"account": "000000000000/aws/amazonaws.com", "literal": "dev-${Kept}"}
    assert one(path).name == "stack-dev-us-east-1"  # the stack name defaults to the file's stem


def test_join_select_split_findinmap_base64(tmp_path):
    path = template(tmp_path, """\
        TableName: !Join ["-", [!Select [1, !Split [",", "a,orders,c"]], !FindInMap [Sizes, !Ref Env, Suffix]]]
        BillingMode: PROVISIONED
        ProvisionedThroughput:
          ReadCapacityUnits: {"Fn::FindInMap": [Sizes, {Ref: Env}, Reads]}
          WriteCapacityUnits: !Select ["0", !Ref Units]
        Tags: [{Key: b64, Value: !Base64 hi}]
        """, params="Env: {Type: String, Default: prod}\nUnits: {Type: List<Number>, Default: '3,4'}\n",
        extra="Mappings:\n  Sizes:\n    prod: {Suffix: big, Reads: 9}\n    dev: {Suffix: small, Reads: 1}\n")
    spec = one(path)
    assert spec.name == "orders-big"
    assert spec.request["ProvisionedThroughput"] == {"ReadCapacityUnits": 9, "WriteCapacityUnits": 3}
    assert spec.tags() == {"b64": "aGk="}


def test_conditions_if_and_resource_condition(tmp_path):
    extra = """\
        Conditions:
          IsProd: !Equals [!Ref Env, prod]
          NotProd: {"Fn::Not": [{Condition: IsProd}]}
          Big: !And [!Condition IsProd, !Or [!Equals [a, b], !Equals [!Ref Env, prod]]]
        """
    body = """\
        TableName: !If [IsProd, orders, orders-test]
        BillingMode: !If [Big, PROVISIONED, PAY_PER_REQUEST]
        ProvisionedThroughput: !If [Big, {ReadCapacityUnits: 2, WriteCapacityUnits: 2}, !Ref "AWS::NoValue"]
        DeletionProtectionEnabled: !If [NotProd, !Ref AWS::NoValue, true]
        """
    params = "Env: {Type: String, Default: prod, AllowedValues: [prod, test]}\n"
    prod = one(template(tmp_path, body, params=params, extra=extra))
    assert (prod.name, prod.request["BillingMode"], prod.request["DeletionProtectionEnabled"]) == ("orders", "PROVISIONED", True)
    test = one(template(tmp_path, body, params=params, extra=extra), parameters={"Env": "test"})
    assert test.name == "orders-test" and "ProvisionedThroughput" not in test.request
    assert "DeletionProtectionEnabled" not in test.request

    path = template(tmp_path, "TableName: orders\nBillingMode: PAY_PER_REQUEST\n", params=params, extra=extra)
    path.write_text(path.read_text().replace("    Type: AWS::DynamoDB::Table\n",
                                             "    Type: AWS::DynamoDB::Table\n    Condition: IsProd\n"))
    assert [t.name for t in schema.read([path]).tables] == ["orders"]
    skipped = schema.read([path], context=Context(parameters={"Env": "test"}))
    assert skipped.tables == [] and skipped.skipped == ["Orders"]


@pytest.mark.parametrize("value,message", [
    ("!GetAtt Bucket.Arn", "Fn::GetAtt Bucket.Arn in TableName cannot be known without deploying the stack"),
    ("{'Fn::GetAtt': [Bucket, Arn]}", "Fn::GetAtt Bucket.Arn in TableName cannot be known"),
    ("!ImportValue shared-name", "Fn::ImportValue in TableName cannot be known without deploying the stack"),
    ("!Ref Bucket", "Ref to resource 'Bucket' cannot be known without deploying the stack"),
    ("!Sub '${Bucket.Arn}-x'", "Fn::Sub ${Bucket.Arn} is an attribute (Fn::GetAtt)"),
])
def test_what_only_a_deployment_knows_is_an_error_naming_intrinsic_property_file_and_line(tmp_path, value, message):
    path = template(tmp_path, f"TableName: {value}\nBillingMode: PAY_PER_REQUEST\n",
                    extra="Conditions: {}\n")
    path.write_text(path.read_text() + "  Bucket:\n    Type: AWS::S3::Bucket\n")
    with pytest.raises(SchemaError) as err:
        schema.read([path])
    assert str(err.value).startswith(f"{path}:7: Resources.Orders.Properties.TableName: ")
    assert message in str(err.value)


def test_other_resources_are_not_evaluated_and_an_alias_bomb_there_does_not_matter(tmp_path):
    bomb = "  Bomb:\n    Type: AWS::SSM::Parameter\n    Properties:\n      a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, prev in zip("bcdefghijk", "abcdefghij", strict=True):
        bomb += f"      {i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    bomb += "      m1: &m1 {k: v}\n"
    for i in range(2, 40):
        bomb += f"      m{i}: &m{i} {{<<: [*m{i-1}], k{i}: v}}\n"
    bomb += "      Value: !GetAtt Nowhere.Arn\n      Weird: !NotATag {x: 1}\n"
    path = template(tmp_path, "TableName: orders\nBillingMode: PAY_PER_REQUEST\n")
    path.write_text(path.read_text() + bomb)
    read = schema.read([path])
    assert [t.name for t in read.tables] == ["orders"] and read.ignored_resources == 1

    inside = template(tmp_path, "TableName: orders\nBillingMode: PAY_PER_REQUEST\nTags: *k\n", name="inside.yaml")
    inside.write_text(inside.read_text().replace("Resources:\n", "Metadata:\n  x: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"  {i}: &{i} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                  for i, p in zip("bcdefghijk", "abcdefghij", strict=True)) + "Resources:\n"))
    with pytest.raises(SchemaError):  # evaluated: an error (not recognised or too large), never a hang
        schema.read([inside])


def test_a_table_without_table_name_gets_its_logical_id_and_says_so(tmp_path):
    spec = one(template(tmp_path, "BillingMode: PAY_PER_REQUEST\n"))
    assert spec.name == "Orders" and spec.logical_id == "Orders"
    assert spec.notes == ["no TableName: the table is named by its logical id 'Orders'"]


def test_every_table_property_is_applied_or_named(tmp_path):
    spec = one(template(tmp_path, """\
        TableName: orders
        BillingMode: PAY_PER_REQUEST
        TimeToLiveSpecification: {AttributeName: expires_at, Enabled: "true"}
        PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: "true"}
        SSESpecification: {SSEEnabled: true}
        Tags: [{Key: team, Value: msg}]
        TableClass: STANDARD_INFREQUENT_ACCESS
        OnDemandThroughput: {MaxReadRequestUnits: "100"}
        ContributorInsightsSpecification: {Enabled: true}
        KinesisStreamSpecification: {StreamArn: "arn:aws:kinesis:us-east-1:000000000000:stream/x"}
        ResourcePolicy: {PolicyDocument: {Version: "2012-10-17", Statement: []}}
        StreamSpecification: {StreamViewType: KEYS_ONLY}
        """))
    assert spec.ttl == {"AttributeName": "expires_at", "Enabled": True} and spec.pitr is True
    r = spec.request
    assert r["SSESpecification"] == {"Enabled": True} and r["OnDemandThroughput"] == {"MaxReadRequestUnits": 100}
    assert r["ResourcePolicy"] == '{"Version": "2012-10-17", "Statement": []}'
    assert r["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert spec.not_applied == ["ContributorInsightsSpecification", "KinesisStreamSpecification"]
    local = schema.Live({})  # an engine that answers neither PITR nor tags (DynamoDB Local)
    assert schema.not_kept(spec, local) == ["PointInTimeRecovery", "Tags", "SSE", "TableClass", "ContributorInsights"]


def test_the_three_public_template_shapes(tmp_path):
    from tests.ddb.test_schema import TEMPLATES

    sam = schema.read([TEMPLATES / "sam_messages.yaml"])
    (t,) = sam.tables
    assert (t.name, t.request["DeletionProtectionEnabled"], sam.ignored_resources) == ("MessagesTable", False, 3)
    (t,) = schema.read([TEMPLATES / "secondary_indexes.yaml"]).tables
    assert t.request["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 10}
    (t,) = schema.read([TEMPLATES / "single_table.yaml"], context=Context(parameters={"HashKeyElementName": "code", "HashKeyElementType": "N"})).tables
    assert t.request["AttributeDefinitions"] == [{"AttributeName": "code", "AttributeType": "N"}]
    with pytest.raises(SchemaError, match="does not match AllowedPattern"):
        schema.read([TEMPLATES / "single_table.yaml"], context=Context(parameters={"HashKeyElementType": "X"}))


# --- a developer's own templates: GlobalTable, SSM parameters, values only a deployment knows ----------------------
GLOBAL_TABLE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  AuditKey:
    Type: AWS::KMS::Key
    Properties: {KeyPolicy: {Version: '2012-10-17', Statement: []}}
  Ledger:
    Type: AWS::DynamoDB::GlobalTable
    Properties:
      TableName: !Sub "${AWS::StackName}-ledger"
      BillingMode: PROVISIONED
      AttributeDefinitions:
        - {AttributeName: account, AttributeType: S}
        - {AttributeName: posted_at, AttributeType: S}
        - {AttributeName: state, AttributeType: S}
      KeySchema:
        - {AttributeName: account, KeyType: HASH}
        - {AttributeName: posted_at, KeyType: RANGE}
      WriteProvisionedThroughputSettings:
        WriteCapacityAutoScalingSettings:
          MinCapacity: 2
          MaxCapacity: 20
          TargetTrackingScalingPolicyConfiguration: {TargetValue: 70}
      GlobalSecondaryIndexes:
        - IndexName: by-state
          KeySchema: [{AttributeName: state, KeyType: HASH}]
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [amount]}
          WriteProvisionedThroughputSettings: {WriteCapacityAutoScalingSettings: {MinCapacity: 1, MaxCapacity: 5}}
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      SSESpecification: {SSEEnabled: true, SSEType: KMS}
      TimeToLiveSpecification: {AttributeName: purge_at, Enabled: true}
      Replicas:
        - Region: eu-west-1
          ReadProvisionedThroughputSettings: {ReadCapacityUnits: 9}
        - Region: us-east-1
          ReadProvisionedThroughputSettings: {ReadCapacityUnits: 4}
          GlobalSecondaryIndexes:
            - IndexName: by-state
              ReadProvisionedThroughputSettings: {ReadCapacityAutoScalingSettings: {MinCapacity: 3, MaxCapacity: 9}}
          PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
          DeletionProtectionEnabled: false
          TableClass: STANDARD
          SSESpecification: {KMSMasterKeyId: !GetAtt AuditKey.Arn}
          Tags: [{Key: team, Value: ledger}]
"""


def test_a_global_table_is_the_table_in_the_endpoints_region_with_its_replicas_reported(tmp_path):
    path = tmp_path / "ledger.yaml"
    path.write_text(GLOBAL_TABLE)
    (spec,) = schema.read([path], context=Context(region="us-east-1")).tables
    r = spec.request
    assert spec.name == "ledger-ledger" and r["BillingMode"] == "PROVISIONED"
    assert r["ProvisionedThroughput"] == {"ReadCapacityUnits": 4, "WriteCapacityUnits": 2}
    (gsi,) = r["GlobalSecondaryIndexes"]
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["amount"]}
    assert gsi["ProvisionedThroughput"] == {"ReadCapacityUnits": 3, "WriteCapacityUnits": 1}
    assert r["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert r["SSESpecification"] == {"Enabled": True, "SSEType": "KMS"}  # the key itself only a deployment knows
    assert spec.ttl == {"AttributeName": "purge_at", "Enabled": True} and spec.pitr is True
    assert spec.tags() == {"team": "ledger"} and r["TableClass"] == "STANDARD"
    assert "Replicas (eu-west-1)" in spec.not_applied
    assert any(n.startswith("Replicas[1].SSESpecification.KMSMasterKeyId (Fn::GetAtt AuditKey.Arn")
               for n in spec.not_applied), spec.not_applied
    assert any("replicas in eu-west-1 are not created" in n for n in spec.notes)
    assert any("auto scaling is not applied" in n for n in spec.notes)
    (other,) = schema.read([path], context=Context(region="eu-west-1")).tables
    assert other.request["ProvisionedThroughput"]["ReadCapacityUnits"] == 9
    assert "Replicas (us-east-1)" in other.not_applied


def test_a_kms_key_or_kinesis_stream_from_getatt_is_left_out_and_named(tmp_path):
    path = template(tmp_path, """\
        TableName: orders
        BillingMode: PAY_PER_REQUEST
        SSESpecification: {SSEEnabled: true, SSEType: KMS, KMSMasterKeyId: !GetAtt Key.Arn}
        KinesisStreamSpecification: {StreamArn: !Sub "${Changes.Arn}"}
        """)
    path.write_text(path.read_text() + "  Key:\n    Type: AWS::KMS::Key\n  Changes:\n    Type: AWS::Kinesis::Stream\n")
    spec = one(path)
    assert spec.request["SSESpecification"] == {"Enabled": True, "SSEType": "KMS"}
    assert "SSESpecification.KMSMasterKeyId (Fn::GetAtt Key.Arn in SSESpecification.KMSMasterKeyId cannot be " \
           "known without deploying the stack)" in spec.not_applied
    assert any(n.startswith("KinesisStreamSpecification.StreamArn (Fn::Sub ${Changes.Arn}") for n in spec.not_applied)
    # the same GetAtt in a property the table needs stays an error
    bad = template(tmp_path, "TableName: !GetAtt Key.Arn\nBillingMode: PAY_PER_REQUEST\n", name="bad.yaml")
    bad.write_text(bad.read_text() + "  Key:\n    Type: AWS::KMS::Key\n")
    with pytest.raises(SchemaError, match="Fn::GetAtt Key.Arn in TableName cannot be known"):
        schema.read([bad])


CDK_PARAMS = """\
BootstrapVersion:
  Type: AWS::SSM::Parameter::Value<String>
  Default: /cdk-bootstrap/hnb659fds/version
  Description: Version of the CDK Bootstrap resources in this environment
"""


def test_an_ssm_parameter_no_table_uses_does_not_block_a_cdk_template(tmp_path):
    path = template(tmp_path, "TableName: orders\nBillingMode: PAY_PER_REQUEST\n", params=CDK_PARAMS,
                    extra="Rules:\n  CheckBootstrapVersion:\n    Assertions:\n      - Assert: {'Fn::Not': [{'Fn::Contains': [['1'], {Ref: BootstrapVersion}]}]}\n")
    read = schema.read([path])
    assert [t.name for t in read.tables] == ["orders"] and "BootstrapVersion" not in read.parameters.get(str(path), {})


def test_an_ssm_parameter_a_table_uses_is_looked_up_or_asked_for(tmp_path):
    params = "TableSuffix:\n  Type: 'AWS::SSM::Parameter::Value<String>'\n  Default: /shop/table-suffix\n"
    path = template(tmp_path, "TableName: !Sub 'orders-${TableSuffix}'\nBillingMode: PAY_PER_REQUEST\n", params=params)
    with pytest.raises(SchemaError, match=r"parameter 'TableSuffix' of Type AWS::SSM::Parameter::Value<String> is read "
                                          r"from SSM \('/shop/table-suffix'\) at deploy time and a table uses it; "
                                          r"pass --parameter-overrides TableSuffix=VALUE"):
        one(path)
    assert one(path, ssm={"/shop/table-suffix": "blue"}.__getitem__).name == "orders-blue"
    assert one(path, parameters={"TableSuffix": "green"}).name == "orders-green"


def test_account_id_can_be_given_and_a_failed_lookup_is_an_error(tmp_path):
    from cruddur_ops.errors import AuthError

    path = template(tmp_path, "TableName: !Sub 'orders-${AWS::AccountId}'\nBillingMode: PAY_PER_REQUEST\n")

    def sts_fails():
        raise AuthError("AWS::AccountId: STS GetCallerIdentity failed (no credentials)")

    with pytest.raises(AuthError, match="STS GetCallerIdentity failed"):
        one(path, account_id=sts_fails)
    assert one(path, account_id=sts_fails, parameters={"AWS::AccountId": "123456789012"}).name == "orders-123456789012"
    with pytest.raises(SchemaError, match="AWS::StackId cannot be set"):
        one(path, parameters={"AWS::StackId": "x"})
