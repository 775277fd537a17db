import { Validations, type RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type Model,
  type RequestValidator,
  ResponseType,
  RestApi,
  type Stage as ApiStage,
} from 'aws-cdk-lib/aws-apigateway';
import { AnyPrincipal, ArnPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { orderRequestJsonSchema } from '../order-request-model';
import type { OrderApiCallers, Stage } from '../router-settings';
import { ORDER_API_THROTTLING } from './broker-quota';

/** One JSON object per request; every value is a plain variable, so the line is always valid JSON. */
const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: AccessLogField.contextRequestId(),
  extendedRequestId: AccessLogField.contextExtendedRequestId(),
  requestTime: AccessLogField.contextRequestTime(),
  httpMethod: AccessLogField.contextHttpMethod(),
  resourcePath: AccessLogField.contextResourcePath(),
  path: AccessLogField.contextPath(),
  status: AccessLogField.contextStatus(),
  responseLength: AccessLogField.contextResponseLength(),
  responseLatency: AccessLogField.contextResponseLatency(),
  integrationLatency: AccessLogField.contextIntegrationLatency(),
  integrationStatus: AccessLogField.contextIntegrationStatus(),
  errorType: AccessLogField.contextErrorResponseType(),
  sourceIp: AccessLogField.contextIdentitySourceIp(),
  userArn: AccessLogField.contextIdentityUserArn(),
  userAgent: AccessLogField.contextIdentityUserAgent(),
  protocol: AccessLogField.contextProtocol(),
};

/** Properties of the order API. */
export interface OrderApiProps {
  readonly stage: Stage;
  readonly routeFunction: IFunction;
  /** The principals the resource policy admits; without them (paper only) no resource policy. */
  readonly callers?: OrderApiCallers;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The order API (API Gateway REST API): `POST /orders`, `GET /orders/{client_order_id}` and
 * `DELETE /orders/{client_order_id}`, all with IAM (SigV4) authorization, validated against the model generated from the handler's zod
 * schema, proxied to the route function, with JSON access logs, stage throttling sized to
 * Alpaca's quota, X-Ray tracing and, when callers are named, a resource policy admitting only them.
 */
export class OrderApi extends Construct {
  readonly api: RestApi;
  readonly accessLogGroup: LogGroup;
  /** The access log group's name, as a literal. */
  readonly accessLogGroupName: string;
  readonly validator: RequestValidator;
  readonly orderModel: Model;

  constructor(scope: Construct, id: string, props: OrderApiProps) {
    super(scope, id);
    this.accessLogGroupName = `/aws/apigateway/lean-router-${props.stage}-access`;
    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      logGroupName: this.accessLogGroupName,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    const policy = props.callers === undefined ? undefined : orderApiResourcePolicy(props.stage, props.callers);
    this.api = new RestApi(this, 'Api', {
      restApiName: `lean-router-${props.stage}`,
      description: `lean-router ${props.stage}: order API (IAM authorization)`,
      endpointTypes: [EndpointType.REGIONAL],
      // The account-wide API Gateway logging role is a regional singleton; this stack does not own it.
      cloudWatchRole: false,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      ...(policy === undefined ? {} : { policy }),
      deployOptions: {
        stageName: props.stage,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        throttlingRateLimit: ORDER_API_THROTTLING.rateLimit,
        throttlingBurstLimit: ORDER_API_THROTTLING.burstLimit,
        // X-Ray traces from the stage into the route function (active tracing there).
        tracingEnabled: true,
        // Execution logs need the account-wide role (see cloudWatchRole); access logs cover each request.
        loggingLevel: MethodLoggingLevel.OFF,
        metricsEnabled: false,
      },
    });

    // API Gateway applies a resource policy only with a new deployment, and CDK's deployment id
    // does not hash the policy: hash it here, so a changed list of callers is deployed with the stack.
    if (policy !== undefined) this.api.latestDeployment?.addToLogicalId({ resourcePolicy: policy.toJSON() });

    // The stack has its own ApiUrl output; drop the duplicate RestApi adds.
    this.api.node.tryRemoveChild('Endpoint');

    this.orderModel = this.api.addModel('OrderRequestModel', {
      modelName: 'OrderRequest',
      contentType: 'application/json',
      description: 'POST /orders body, generated from orderRequestSchema (functions/core/order-request.ts)',
      schema: orderRequestJsonSchema(),
    });
    this.validator = this.api.addRequestValidator('Validator', {
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    // Refusals by API Gateway itself speak the API's error shape {error, message}.
    for (const type of [ResponseType.BAD_REQUEST_BODY, ResponseType.BAD_REQUEST_PARAMETERS]) {
      this.api.addGatewayResponse(`${type.responseType}Response`, {
        type,
        statusCode: '400',
        templates: { 'application/json': '{"error":"validation_failed","message":$context.error.messageString}' },
      });
    }
    // Everything else API Gateway answers itself (403 signature/authorization, 429 throttling, 5xx)
    // names its response type, e.g. {"error":"THROTTLED","message":"Too Many Requests"}.
    for (const type of [ResponseType.DEFAULT_4XX, ResponseType.DEFAULT_5XX]) {
      this.api.addGatewayResponse(`${type.responseType}Response`, {
        type,
        templates: { 'application/json': '{"error":"$context.error.responseType","message":$context.error.messageString}' },
      });
    }

    // No permission for the console's test invocations (source test-invoke-stage): only a deployed, signed call reaches the function.
    const integration = new LambdaIntegration(props.routeFunction, { proxy: true, allowTestInvoke: false });
    const orders = this.api.root.addResource('orders');
    // Every method takes IAM authorization from defaultMethodOptions.
    const submit = orders.addMethod('POST', integration, {
      requestValidator: this.validator,
      requestModels: { 'application/json': this.orderModel },
    });
    const order = orders.addResource('{client_order_id}');
    const byId = { requestValidator: this.validator, requestParameters: { 'method.request.path.client_order_id': true } };
    const read = order.addMethod('GET', integration, byId);
    const cancel = order.addMethod('DELETE', integration, byId);

    for (const method of [submit, read, cancel]) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'The callers are machines (the order scheduler, operators\' tooling) with IAM identities: every method uses IAM (SigV4) authorization, which needs no Cognito user pool.',
      });
    }
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG6',
      reason:
        'Execution logging needs the region-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), a singleton this stack must not own or overwrite. Every request is in the JSON access log (status, caller ARN, latencies, error type) and the route function logs each order.',
    });
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Only signed requests from IAM principals of this account reach the integration; stage throttling bounds the rate. A WAF web ACL would add cost and latency on the order path without a public, anonymous surface to protect.',
    });
  }

  /** The deployed stage (for its metrics). */
  get stage(): ApiStage {
    return this.api.deploymentStage;
  }

  /** `https://<id>.execute-api.<region>.amazonaws.com/<stage>/`. */
  get url(): string {
    return this.api.url;
  }
}

/**
 * The order API's resource policy: the scheduler may submit (`POST /orders`), read and cancel;
 * operators may read and cancel. Every other principal is denied whatever its own IAM policies
 * say, and no one but the scheduler may submit. `aws:PrincipalArn` is the role's ARN for a caller
 * that assumed it, whatever the session name.
 */
function orderApiResourcePolicy(stage: Stage, callers: OrderApiCallers): PolicyDocument {
  const route = (method: string, path: string) => `execute-api:/${stage}/${method}/${path}`;
  const submit = route('POST', 'orders');
  const readAndCancel = [route('GET', 'orders/*'), route('DELETE', 'orders/*')];
  const everyone = [callers.scheduler, ...callers.operators];
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'SchedulerSubmitsReadsCancels',
        principals: [new ArnPrincipal(callers.scheduler)],
        actions: ['execute-api:Invoke'],
        resources: [submit, ...readAndCancel],
      }),
      ...(callers.operators.length === 0
        ? []
        : [
            new PolicyStatement({
              sid: 'OperatorsReadAndCancel',
              principals: callers.operators.map((arn) => new ArnPrincipal(arn)),
              actions: ['execute-api:Invoke'],
              resources: readAndCancel,
            }),
          ]),
      new PolicyStatement({
        sid: 'DenyUnnamedCallers',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions: { StringNotEquals: { 'aws:PrincipalArn': everyone } },
      }),
      new PolicyStatement({
        sid: 'DenySubmitButScheduler',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: [submit],
        conditions: { StringNotEquals: { 'aws:PrincipalArn': [callers.scheduler] } },
      }),
    ],
  });
}
