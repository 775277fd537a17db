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
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { orderRequestJsonSchema } from '../order-request-model';
import type { Stage } from '../router-settings';

/**
 * Stage throttling. The caller is one order scheduler: tens of orders per second at a burst is far
 * above its need and far below what the function, DynamoDB on-demand or Alpaca's 200/minute allow
 * to be exceeded for long; anything beyond is a runaway client, answered 429 before any broker call.
 */
const ORDER_API_THROTTLING = { rateLimit: 50, burstLimit: 100 } as const;

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
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The order API (API Gateway REST API): `POST /orders`, `GET /orders/{client_order_id}` and
 * `DELETE /orders/{client_order_id}`, all with IAM (SigV4) authorization, validated against the model generated from the handler's zod
 * schema, proxied to the route function, with JSON access logs and stage throttling.
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

    this.api = new RestApi(this, 'Api', {
      restApiName: `lean-router-${props.stage}`,
      description: `lean-router ${props.stage}: order API (IAM authorization)`,
      endpointTypes: [EndpointType.REGIONAL],
      // The account-wide API Gateway logging role is a regional singleton; this stack does not own it.
      cloudWatchRole: false,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: props.stage,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        throttlingRateLimit: ORDER_API_THROTTLING.rateLimit,
        throttlingBurstLimit: ORDER_API_THROTTLING.burstLimit,
        // Execution logs need the account-wide role (see cloudWatchRole); access logs cover each request.
        loggingLevel: MethodLoggingLevel.OFF,
        metricsEnabled: false,
      },
    });

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

    const integration = new LambdaIntegration(props.routeFunction, { proxy: true });
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
