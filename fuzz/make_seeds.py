#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs (fuzz/seeds/TARGET/NAME): one or
more well-formed inputs per target, in the layout its function in
src/fuzzing.rs reads, for the fuzzers to mutate. Run from fuzz/:
`python3 make_seeds.py`. The files are committed; this says where they
came from."""
import os, json, struct
seeds = {}
def add(t, name, data):
    if isinstance(data, str): data = data.encode()
    seeds.setdefault(t, {})[name] = data
ECS="AmazonEC2ContainerServiceV20141113"
td = {"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
      "containerDefinitions":[{"name":"app","image":"app:1","essential":True,"portMappings":[{"containerPort":8080,"name":"http"}],
        "environment":[{"name":"A","value":"1"}],"healthCheck":{"command":["CMD-SHELL","true"],"interval":5},
        "logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/web","awslogs-region":"us-east-1","awslogs-stream-prefix":"web","awslogs-create-group":"true"}},
        "dependsOn":[],"ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":2048}]}],
      "volumes":[{"name":"scratch"}],"tags":[{"key":"k","value":"v"}]}
bridge = {"family":"b","networkMode":"bridge","containerDefinitions":[{"name":"web","image":"app:1","memory":64,"portMappings":[{"containerPort":80,"hostPort":0}],"links":[]}],
      "placementConstraints":[{"type":"memberOf","expression":"attribute:ecs.instance-type =~ m5.*"}]}
net = {"awsvpcConfiguration":{"subnets":["subnet-0123abcd"],"securityGroups":["sg-1"],"assignPublicIp":"ENABLED"}}
calls = [
 (ECS,"CreateCluster",{"clusterName":"c","tags":[{"key":"a","value":"b"}],"settings":[{"name":"containerInsights","value":"enabled"}],"serviceConnectDefaults":{"namespace":"app.local"}}),
 (ECS,"RegisterTaskDefinition",td),
 (ECS,"RegisterTaskDefinition",bridge),
 (ECS,"RunTask",{"cluster":"c","taskDefinition":"web","count":2,"launchType":"FARGATE","networkConfiguration":net,"overrides":{"containerOverrides":[{"name":"app","command":["sh","-c","exit 0"],"cpu":10}]},"startedBy":"fuzz","tags":[{"key":"x","value":"y"}]}),
 (ECS,"RunTask",{"cluster":"c","taskDefinition":"b","launchType":"EC2","placementConstraints":[{"type":"distinctInstance"}],"placementStrategy":[{"type":"spread","field":"attribute:ecs.availability-zone"},{"type":"binpack","field":"memory"}]}),
 (ECS,"CreateService",{"cluster":"c","serviceName":"web","taskDefinition":"web","desiredCount":2,"launchType":"FARGATE","networkConfiguration":net,
   "deploymentConfiguration":{"maximumPercent":200,"minimumHealthyPercent":50,"deploymentCircuitBreaker":{"enable":True,"rollback":True}},
   "loadBalancers":[{"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/0123456789abcdef","containerName":"app","containerPort":8080}],
   "serviceRegistries":[{"registryArn":"arn:aws:servicediscovery:us-east-1:000000000000:service/srv-1"}]}),
 (ECS,"UpdateService",{"cluster":"c","service":"web","desiredCount":3,"forceNewDeployment":True}),
 (ECS,"DescribeServices",{"cluster":"c","services":["web"],"include":["TAGS"]}),
 (ECS,"ListTasks",{"cluster":"c","desiredStatus":"STOPPED","maxResults":2,"nextToken":"abc"}),
 (ECS,"DescribeTasks",{"cluster":"c","tasks":["arn:aws:ecs:us-east-1:000000000000:task/c/0123456789abcdef0123456789abcdef"]}),
 (ECS,"StopTask",{"cluster":"c","task":"0123456789abcdef0123456789abcdef","reason":"fuzz"}),
 (ECS,"ListContainerInstances",{"cluster":"c","filter":"attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and runningTasksCount > 0"}),
 (ECS,"PutAttributes",{"cluster":"c","attributes":[{"name":"stack","value":"prod","targetType":"container-instance","targetId":"x"}]}),
 (ECS,"PutAccountSetting",{"name":"serviceLongArnFormat","value":"enabled"}),
 (ECS,"TagResource",{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/c","tags":[{"key":"k","value":"v"}]}),
 (ECS,"CreateTaskSet",{"cluster":"c","service":"web","taskDefinition":"web","scale":{"value":50,"unit":"PERCENT"}}),
 (ECS,"UpdateTaskProtection",{"cluster":"c","tasks":["t"],"protectionEnabled":True,"expiresInMinutes":60}),
 (ECS,"DeleteCluster",{"cluster":"c"}),
 ("Logs_20140328","CreateLogGroup",{"logGroupName":"/ecs/web","tags":{"a":"b"}}),
 ("Logs_20140328","PutRetentionPolicy",{"logGroupName":"/ecs/web","retentionInDays":1}),
 ("Logs_20140328","CreateLogStream",{"logGroupName":"/ecs/web","logStreamName":"s"}),
 ("Logs_20140328","PutLogEvents",{"logGroupName":"/ecs/web","logStreamName":"s","logEvents":[{"timestamp":1700000000000,"message":"ERROR 500 GET /x"},{"timestamp":1700000000001,"message":"{\"status\": 200, \"path\": \"/\"}"}]}),
 ("Logs_20140328","FilterLogEvents",{"logGroupName":"/ecs/web","filterPattern":"{ $.status = 200 && $.path = \"/*\" }","startTime":0,"limit":10}),
 ("Logs_20140328","GetLogEvents",{"logGroupName":"/ecs/web","logStreamName":"s","startFromHead":True,"nextToken":"f/0"}),
 ("secretsmanager","CreateSecret",{"Name":"db","SecretString":"{\"password\":\"x\"}"}),
 ("secretsmanager","GetSecretValue",{"SecretId":"db","VersionStage":"AWSCURRENT"}),
 ("AmazonSSM","PutParameter",{"Name":"/app/p","Value":"v","Type":"SecureString","Overwrite":True}),
 ("AmazonSSM","GetParametersByPath",{"Path":"/app","Recursive":True,"WithDecryption":True}),
 ("AmazonEC2ContainerRegistry_V20150921","CreateRepository",{"repositoryName":"app","imageTagMutability":"IMMUTABLE"}),
 ("AmazonEC2ContainerRegistry_V20150921","PutImage",{"repositoryName":"app","imageTag":"v1","imageManifest":"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:"+"0"*64+"\",\"size\":2},\"layers\":[]}"}),
 ("AmazonEC2ContainerRegistry_V20150921","PutLifecyclePolicy",{"repositoryName":"app","lifecyclePolicyText":"{\"rules\":[{\"rulePriority\":1,\"selection\":{\"tagStatus\":\"untagged\",\"countType\":\"sinceImagePushed\",\"countUnit\":\"days\",\"countNumber\":1},\"action\":{\"type\":\"expire\"}}]}"}),
 ("AmazonEC2ContainerRegistry_V20150921","GetAuthorizationToken",{}),
 ("Route53AutoNaming_v20170314","CreatePrivateDnsNamespace",{"Name":"app.local","Vpc":"vpc-1","CreatorRequestId":"r1"}),
 ("Route53AutoNaming_v20170314","CreateService",{"Name":"api","NamespaceId":"ns-1","DnsConfig":{"RoutingPolicy":"MULTIVALUE","DnsRecords":[{"Type":"A","TTL":10}]},"HealthCheckCustomConfig":{"FailureThreshold":1}}),
 ("Route53AutoNaming_v20170314","RegisterInstance",{"ServiceId":"srv-1","InstanceId":"i1","Attributes":{"AWS_INSTANCE_IPV4":"10.0.0.1"}}),
 ("Route53AutoNaming_v20170314","DiscoverInstances",{"NamespaceName":"app.local","ServiceName":"api","QueryParameters":{"a":"b"},"HealthStatus":"HEALTHY_OR_ELSE_ALL"}),
 ("AWSEvents","PutRule",{"Name":"r","EventPattern":"{\"source\":[\"aws.ecs\"],\"detail\":{\"lastStatus\":[{\"anything-but\":\"RUNNING\"}]}}"}),
 ("AWSEvents","PutRule",{"Name":"s","ScheduleExpression":"cron(0/5 * ? * MON-FRI *)","State":"ENABLED"}),
 ("AWSEvents","PutTargets",{"Rule":"s","Targets":[{"Id":"1","Arn":"arn:aws:ecs:us-east-1:000000000000:cluster/c","RoleArn":"arn:aws:iam::000000000000:role/r","EcsParameters":{"TaskDefinitionArn":"arn:aws:ecs:us-east-1:000000000000:task-definition/web:1","TaskCount":1,"LaunchType":"FARGATE","NetworkConfiguration":net}}]}),
 ("AWSEvents","PutEvents",{"Entries":[{"Source":"app","DetailType":"x","Detail":"{\"a\":1}"}]}),
 ("AnyScaleFrontendService","RegisterScalableTarget",{"ServiceNamespace":"ecs","ResourceId":"service/c/web","ScalableDimension":"ecs:service:DesiredCount","MinCapacity":1,"MaxCapacity":4}),
 ("AnyScaleFrontendService","PutScheduledAction",{"ServiceNamespace":"ecs","ResourceId":"service/c/web","ScalableDimension":"ecs:service:DesiredCount","ScheduledActionName":"a","Schedule":"at(2030-01-01T00:00:00)","Timezone":"Europe/Paris","ScalableTargetAction":{"MinCapacity":2}}),
 ("AnyScaleFrontendService","PutScalingPolicy",{"ServiceNamespace":"ecs","ResourceId":"service/c/web","ScalableDimension":"ecs:service:DesiredCount","PolicyName":"p","PolicyType":"TargetTrackingScaling","TargetTrackingScalingPolicyConfiguration":{"TargetValue":50,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}}),
 ("GraniteServiceVersion20100801","PutMetricAlarm",{"AlarmName":"a","MetricName":"CPUUtilization","Namespace":"AWS/ECS","Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":50,"ComparisonOperator":"GreaterThanThreshold"}),
]
for i,(prefix,op,body) in enumerate(calls):
    add("api_json", f"{i:02d}-{op}", prefix+"."+op+"\n"+json.dumps(body))
q = [
 "Action=CreateLoadBalancer&Version=2015-12-01&Name=lb&Subnets.member.1=subnet-1&Type=application&Scheme=internal",
 "Action=CreateTargetGroup&Version=2015-12-01&Name=tg&Protocol=HTTP&Port=80&VpcId=vpc-1&TargetType=ip&HealthCheckPath=%2Fhealth&Matcher.HttpCode=200-299",
 "Action=CreateListener&Version=2015-12-01&LoadBalancerArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A000000000000%3Aloadbalancer%2Fapp%2Flb%2F0&Protocol=HTTP&Port=80&DefaultActions.member.1.Type=fixed-response&DefaultActions.member.1.FixedResponseConfig.StatusCode=404",
 "Action=CreateRule&Version=2015-12-01&ListenerArn=x&Priority=10&Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.Values.member.1=%2Fapi%2F*&Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=tg&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=10",
 "Action=ModifyTargetGroupAttributes&Version=2015-12-01&TargetGroupArn=tg&Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value=5",
 "Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=tg&Targets.member.1.Id=10.0.0.1&Targets.member.1.Port=8080",
 "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=tg",
 "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&SubnetId.1=subnet-1",
 "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=group-name&Filter.1.Value.1=default*",
 "Action=DescribeVpcs&Version=2016-11-15&MaxResults=5&NextToken=x",
 "Action=GetCallerIdentity&Version=2011-06-15",
 "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fr&RoleSessionName=s&DurationSeconds=900",
 "Action=PutMetricData&Version=2010-08-01&Namespace=App&MetricData.member.1.MetricName=m&MetricData.member.1.Value=1.5&MetricData.member.1.Dimensions.member.1.Name=d&MetricData.member.1.Dimensions.member.1.Value=v",
 "Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FECS&MetricName=CPUUtilization&StartTime=2026-01-01T00%3A00%3A00Z&EndTime=2026-01-02T00%3A00%3A00Z&Period=60&Statistics.member.1=Average",
]
for i,b in enumerate(q): add("api_query", f"{i:02d}", b)

def cbor(v):
    def head(major, n):
        if n < 24: return bytes([major<<5 | n])
        if n < 256: return bytes([major<<5 | 24, n])
        if n < 65536: return bytes([major<<5 | 25]) + n.to_bytes(2,'big')
        return bytes([major<<5 | 26]) + n.to_bytes(4,'big')
    if isinstance(v, bool): return b'\xf5' if v else b'\xf4'
    if v is None: return b'\xf6'
    if isinstance(v, int): return head(0, v) if v >= 0 else head(1, -1-v)
    if isinstance(v, float): return b'\xfb' + struct.pack('>d', v)
    if isinstance(v, str): b=v.encode(); return head(3, len(b)) + b
    if isinstance(v, bytes): return head(2, len(v)) + v
    if isinstance(v, list): return head(4, len(v)) + b''.join(cbor(x) for x in v)
    if isinstance(v, dict): return head(5, len(v)) + b''.join(cbor(k)+cbor(x) for k,x in v.items())
    raise TypeError(v)
cw = [
 ("PutMetricData", {"Namespace":"App","MetricData":[{"MetricName":"m","Value":1.5,"Timestamp":1.7e9,"Dimensions":[{"Name":"d","Value":"v"}],"Unit":"Count"}]}),
 ("GetMetricData", {"MetricDataQueries":[{"Id":"q","MetricStat":{"Metric":{"Namespace":"AWS/ECS","MetricName":"CPUUtilization"},"Period":60,"Stat":"Average"}}],"StartTime":1.7e9,"EndTime":1.7e9+3600}),
 ("PutMetricAlarm", {"AlarmName":"a","MetricName":"m","Namespace":"App","Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":50.0,"ComparisonOperator":"GreaterThanThreshold","TreatMissingData":"missing"}),
 ("DescribeAlarms", {"AlarmNames":["a"],"MaxRecords":10}),
 ("ListMetrics", {"Namespace":"AWS/ECS","Dimensions":[{"Name":"ClusterName","Value":"c"}]}),
]
for i,(op,body) in enumerate(cw):
    add("api_cbor", f"{i:02d}-{op}", b"GraniteServiceVersion20100801/"+op.encode()+b"\n"+cbor(body))
rest = [
 ("POST /2015-02-01/file-systems", {"CreationToken":"t","PerformanceMode":"generalPurpose","Tags":[{"Key":"Name","Value":"fs"}]}),
 ("GET /2015-02-01/file-systems?MaxItems=5&CreationToken=t", None),
 ("POST /2015-02-01/access-points", {"ClientToken":"c","FileSystemId":"fs-0123456789abcdef0","PosixUser":{"Uid":1000,"Gid":1000},"RootDirectory":{"Path":"/data","CreationInfo":{"OwnerUid":1000,"OwnerGid":1000,"Permissions":"755"}}}),
 ("DELETE /2015-02-01/file-systems/fs-0123456789abcdef0", None),
 ("POST /2015-02-01/resource-tags/fs-0123456789abcdef0", {"Tags":[{"Key":"a","Value":"b"}]}),
]
for i,(line,body) in enumerate(rest):
    add("api_rest_json", f"{i:02d}", line+"\n"+(json.dumps(body) if body is not None else ""))
import gzip, zlib
payload = b'{"clusterName":"c"}'
add("content_encoding","gzip", b"gzip\n"+gzip.compress(payload))
add("content_encoding","deflate", b"deflate\n"+zlib.compress(payload))
add("content_encoding","identity", b"identity\n"+payload)
add("content_encoding","bomb", b"gzip\n"+gzip.compress(b"\0"*200000))
auth = "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20261207/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "ab"*32
add("sigv4","signed", auth+"\n20261207T000000Z\n{}")
add("sigv4","unknown-key", auth.replace("AKIDFUZZ","AKIDOTHER")+"\n20261207T000000Z\n")
add("sigv4","short", "AWS4-HMAC-SHA256 Credential=a/b\n2026\n")
for i,e in enumerate([
 "attribute:ecs.instance-type =~ m5.*",
 "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
 "not(attribute:custom exists) or runningTasksCount > 0 and agentConnected == true",
 "ec2InstanceId != i-0123 and registeredAt >= 2020-01-01T00:00:00Z",
 "task:group == service:web",
 "(attribute:ecs.os-type == linux and (agentVersion >= 1.2.0))",
]): add("placement_expression", f"{i:02d}", e)
for i,p in enumerate([
 "ERROR\nERROR 500\nok",
 "\"GET /\" -health\nGET / 200\nGET /health",
 "?ERROR ?WARN\nWARN x",
 "{ $.status = 200 && $.path = \"/*\" }\n{\"status\": 200, \"path\": \"/a\"}",
 "{ ($.latency > 1.5) || $.tags[0] IS NULL }\n{\"latency\": 2, \"tags\": [null]}",
 "[ip, user, ts, request = \"GET*\", status_code >= 400, bytes]\n1.2.3.4 - [x] \"GET /\" 404 10",
 "%ERR[A-Z]+%\nERROR",
]): add("log_filter_pattern", f"{i:02d}", p)
ev = json.dumps({"source":"aws.ecs","detail-type":"ECS Task State Change","account":"000000000000","region":"us-east-1","detail":{"lastStatus":"STOPPED","stoppedReason":"Essential container exited","containers":[{"exitCode":1}],"group":"service:web"}})
for i,p in enumerate([
 {"source":["aws.ecs"],"detail":{"lastStatus":[{"anything-but":"RUNNING"}]}},
 {"detail":{"containers":{"exitCode":[{"numeric":[">",0,"<=",255]}]}}},
 {"detail":{"group":[{"prefix":"service:"}],"stoppedReason":[{"wildcard":"*exited"},{"equals-ignore-case":"x"}]}},
 {"$or":[{"source":["a"]},{"detail-type":[{"suffix":"Change"}]}],"detail":{"x":[{"exists":False}]}},
 {"detail":{"lastStatus":[{"anything-but":{"prefix":"RUN"}}],"cidr":[{"cidr":"10.0.0.0/24"}]}},
]): add("event_pattern", f"{i:02d}", json.dumps(p)+"\n"+ev)
for i,s in enumerate([
 "rate(5 minutes)", "rate(1 day)", "cron(0/15 * ? * MON-FRI *)", "cron(0 12 L * ? 2030)", "cron(0 9 ? * 2#1 *)",
 "cron(30 1 15W * ? *)", "at(2030-01-01T00:00:00)\nEurope/Paris", "cron(0 0 29 2 ? *)\nAmerica/New_York", "rate(1 hour)\nUTC",
]): add("schedule_expression", f"{i:02d}", s)
for i,p in enumerate([
 {"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]},
 {"rules":[{"rulePriority":1,"description":"keep 2","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}},
           {"rulePriority":2,"selection":{"tagStatus":"tagged","tagPatternList":["prod-*"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
           {"rulePriority":3,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]},
]): add("ecr_lifecycle_policy", f"{i:02d}", json.dumps(p))
d="sha256:"+"a"*64
oci={"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":d,"size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":d,"size":20}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":d,"size":3}}
docker={"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":d,"size":10},"layers":[]}
index={"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":d,"size":5,"platform":{"architecture":"amd64","os":"linux"}}]}
add("image_manifest","oci","application/vnd.oci.image.manifest.v1+json\n"+json.dumps(oci))
add("image_manifest","docker","application/vnd.docker.distribution.manifest.v2+json\n"+json.dumps(docker))
add("image_manifest","index","\n"+json.dumps(index))
def name(n):
    out=b""
    for part in n.split("."):
        out+=bytes([len(part)])+part.encode()
    return out+b"\0"
def query(qname, qtype, edns=False, rid=0x1234):
    h=struct.pack(">HHHHHH", rid, 0x0100, 1, 0, 0, 1 if edns else 0)
    q=name(qname)+struct.pack(">HH", qtype, 1)
    opt=b"\0"+struct.pack(">HHIH", 41, 1232, 0, 0) if edns else b""
    return h+q+opt
add("dns_message","a", query("api.app.local",1))
add("dns_message","srv", query("api.app.local",33, edns=True))
add("dns_message","soa", query("app.local",6))
add("dns_message","nx", query("nope.app.local",1))
add("dns_message","other", query("example.com",1))
add("dns_message","compressed", query("api.app.local",1)[:-4]+b"\xc0\x0c"+struct.pack(">HH",1,1))

for t, files in seeds.items():
    os.makedirs(f"seeds/{t}", exist_ok=True)
    for n, data in files.items():
        with open(f"seeds/{t}/{n}", "wb") as f: f.write(data)
print({t: len(f) for t,f in seeds.items()})
