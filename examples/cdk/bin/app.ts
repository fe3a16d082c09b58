// The app `cdk synth` turned into cdk.out/ (synthesized with --no-version-reporting).
import { App, NestedStack, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

class Storage extends NestedStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const reader = new iam.Role(this, "ReaderRole", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    reader.addToPolicy(new iam.PolicyStatement({ actions: ["s3:GetObject", "kms:Decrypt"], resources: ["*"] }));
  }
}

class Worker extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const role = new iam.Role(this, "Role", {
      roleName: "orders-api-handler",
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("CloudWatchAgentServerPolicy")],
      inlinePolicies: {
        orders: new iam.PolicyDocument({ statements: [
          new iam.PolicyStatement({ actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], resources: ["*"] }),
          new iam.PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: ["*"] }),
        ] }),
      },
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: ["*"] }));
  }
}

const app = new App();
const stack = new Stack(app, "MyStack", { env: { account: "111122223333", region: "eu-west-1" } });
new Worker(stack, "Worker");
new Storage(stack, "Storage");
