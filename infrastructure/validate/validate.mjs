// Validates the deployment files offline, for `make test` (the Compose files
// themselves are checked against the Compose specification by Debian's
// docker-compose, `config -q`, in tests/test_deploy_files.c):
//  1. every Kubernetes object against the Kubernetes OpenAPI schemas
//     (kubernetes-models);
//  2. Compose: every build context and Dockerfile exists, every variable given to
//     a daemon is one its .env.example lists;
//  3. Kubernetes, our own rules: every ConfigMap/Secret key a container reads exists; every
//     Deployment has limits, probes on /healthz and /readyz, a non-root,
//     read-only security context and a grace period longer than the daemons'
//     30 s drain; consumer autoscalers never exceed the topics' partitions;
//     images and ports match docker-compose.yml.
// Usage: node validate.mjs MANIFEST_DIR COMPOSE_FILE TOPICS_CONF
// Prints one line per problem and exits 1 if there is any.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments, parse } from "yaml";

const [dir, composeFile, topicsFile] = process.argv.slice(2);
if (!dir || !composeFile || !topicsFile) {
  console.error("usage: node validate.mjs MANIFEST_DIR COMPOSE_FILE TOPICS_CONF");
  process.exit(2);
}

const problems = [];
const objects = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
  for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
    if (doc.errors.length) {
      problems.push(`${file}: YAML: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj) objects.push({ file, obj });
  }
}

// 1. Schemas. "apps/v1" -> kubernetes-models/apps/v1/<Kind>; "v1" -> kubernetes-models/v1/<Kind>.
for (const { file, obj } of objects) {
  const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
  try {
    const mod = await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`);
    new mod[obj.kind](obj).validate();
  } catch (e) {
    problems.push(`${where}: ${e.message.split("\n").slice(0, 3).join(" ")}`);
  }
}

// 2. Our rules.
const byKind = (k) => objects.filter((o) => o.obj.kind === k).map((o) => o.obj);
const keysOf = (kind) =>
  new Map(byKind(kind).map((o) => [o.metadata.name, new Set(Object.keys({ ...o.data, ...o.stringData }))]));
const configMaps = keysOf("ConfigMap");
const secrets = keysOf("Secret");
const partitions = Math.min(
  ...readFileSync(topicsFile, "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map((l) => Number(l.split(/\s+/)[1])),
);
const compose = parse(readFileSync(composeFile, "utf8"), { merge: true }).services;

// Compose: builds and environment.
const root = dirname(composeFile);
for (const [name, svc] of Object.entries(compose)) {
  if (!svc.build) continue;
  const ctx = join(root, svc.build.context ?? ".");
  const dockerfile = join(ctx, svc.build.dockerfile ?? "Dockerfile");
  if (!existsSync(ctx)) problems.push(`compose ${name}: build context ${ctx} does not exist`);
  if (!existsSync(dockerfile)) problems.push(`compose ${name}: ${dockerfile} does not exist`);
  const example = join(root, name, ".env.example");
  if (!existsSync(example)) {
    problems.push(`compose ${name}: ${example} does not exist`);
    continue;
  }
  const known = new Set(
    readFileSync(example, "utf8")
      .split("\n")
      .map((l) => l.replace(/^#\s*/, "").match(/^([A-Z][A-Z0-9_]*)=/)?.[1])
      .filter(Boolean),
  );
  for (const v of Object.keys(svc.environment ?? {})) {
    if (!known.has(v)) problems.push(`compose ${name}: ${v} is not a variable of ${example}`);
  }
}

const containersOf = (o) => [
  ...(o.spec?.template?.spec?.containers ?? []),
  ...(o.spec?.template?.spec?.initContainers ?? []),
];
for (const o of [...byKind("Deployment"), ...byKind("Job")]) {
  const where = `${o.kind}/${o.metadata.name}`;
  for (const c of containersOf(o)) {
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sk = e.valueFrom?.secretKeyRef;
      if (cm && !configMaps.get(cm.name)?.has(cm.key))
        problems.push(`${where}: env ${e.name} reads ConfigMap ${cm.name} key ${cm.key}, which does not exist`);
      if (sk && !secrets.get(sk.name)?.has(sk.key))
        problems.push(`${where}: env ${e.name} reads Secret ${sk.name} key ${sk.key}, which does not exist`);
    }
    for (const v of o.spec.template.spec.volumes ?? []) {
      if (v.configMap && !configMaps.has(v.configMap.name))
        problems.push(`${where}: volume ${v.name} names missing ConfigMap ${v.configMap.name}`);
    }
    if (!c.resources?.limits?.memory || !c.resources?.requests?.cpu)
      problems.push(`${where}: container ${c.name} needs resource requests and limits`);
    const sc = { ...o.spec.template.spec.securityContext, ...c.securityContext };
    if (!sc.runAsNonRoot || sc.readOnlyRootFilesystem !== true || sc.allowPrivilegeEscalation !== false)
      problems.push(`${where}: container ${c.name} must run as non-root with a read-only root filesystem`);
  }
  if (o.kind !== "Deployment") continue;
  const c = o.spec.template.spec.containers[0];
  if (c.livenessProbe?.httpGet?.path !== "/healthz" || c.readinessProbe?.httpGet?.path !== "/readyz")
    problems.push(`${where}: liveness must probe /healthz and readiness /readyz`);
  if (!(o.spec.template.spec.terminationGracePeriodSeconds > 30))
    problems.push(`${where}: terminationGracePeriodSeconds must exceed the daemons' 30 s drain`);
  const svc = compose[o.metadata.name];
  if (!svc) {
    problems.push(`${where}: no service of that name in ${composeFile}`);
    continue;
  }
  if (svc.image !== c.image)
    problems.push(`${where}: image ${c.image} but docker-compose.yml builds ${svc.image}`);
  const port = String(c.ports?.[0]?.containerPort);
  if (!(svc.ports ?? []).some((p) => String(p).endsWith(`:${port}`)))
    problems.push(`${where}: port ${port} is not published the same way in docker-compose.yml`);
  const envPort = c.env?.find((e) => e.name === "PORT")?.value;
  if (envPort !== port || String(svc.environment?.PORT) !== port)
    problems.push(`${where}: PORT must be ${port} in both the Deployment and docker-compose.yml`);
}
for (const h of byKind("HorizontalPodAutoscaler")) {
  if (h.spec.maxReplicas > partitions)
    problems.push(`HorizontalPodAutoscaler/${h.metadata.name}: maxReplicas ${h.spec.maxReplicas} exceeds the ${partitions} partitions of its topics`);
}
for (const s of byKind("Service")) {
  const target = byKind("Deployment").find((d) => d.metadata.name === s.spec.selector?.["app.kubernetes.io/name"]);
  if (!target) problems.push(`Service/${s.metadata.name}: selects no Deployment`);
}

// Kubernetes env names must be variables the daemon knows, too.
for (const o of byKind("Deployment")) {
  const example = join(root, o.metadata.name, ".env.example");
  if (!existsSync(example)) continue; // reported above through compose
  const text = readFileSync(example, "utf8");
  for (const e of o.spec.template.spec.containers[0].env ?? []) {
    if (!new RegExp(`^#?\\s*${e.name}=`, "m").test(text))
      problems.push(`Deployment/${o.metadata.name}: ${e.name} is not a variable of ${example}`);
  }
}

for (const p of problems) console.log(`deploy: ${p}`);
console.log(`deploy: ${objects.length} Kubernetes objects and ${Object.keys(compose).length} compose services checked, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
