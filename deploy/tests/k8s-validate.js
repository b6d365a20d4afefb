// Validates rendered Kubernetes manifests (kubectl kustomize output) offline, in three
// layers, each of which the self-test below proves able to fail:
//  1. schema: every object against the Kubernetes API's OpenAPI schemas, compiled to
//     ajv validators by the kubernetes-models package (types, required fields, formats);
//  2. fields: every object type-checked by TypeScript against kubernetes-types (the same
//     API as TypeScript interfaces): unknown fields are errors, so a misspelt
//     `readOnlyRootFilesytem` does not pass silently as it would in (1);
//  3. virtgrpcd's own rules: the security context, probes on the plaintext health port,
//     mounts, ports matching the config, references that resolve, and the ConfigMap
//     holding deploy/config/virtgrpcd.conf byte for byte.
//
//   node k8s-validate.js --config CONF [--external-secret NAME] RENDERED.yaml
//   node k8s-validate.js --self-test --config CONF RENDERED.yaml
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const ts = require("typescript");

const HEALTH_PORT = 50052;
const GRPC_PORT = 50051;

function parseArgs(argv) {
    const args = { externalSecrets: [], selfTest: false };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--config") args.config = argv[++i];
        else if (argv[i] === "--external-secret") args.externalSecrets.push(argv[++i]);
        else if (argv[i] === "--self-test") args.selfTest = true;
        else args.rendered = argv[i];
    }
    if (!args.config || !args.rendered) {
        console.error("usage: k8s-validate.js [--self-test] --config CONF " +
                      "[--external-secret NAME] RENDERED.yaml");
        process.exit(2);
    }
    return args;
}

// Kubernetes reads YAML 1.1 (0440 is octal there): parse it the same way. kustomize
// wraps a Secret's base64 data over lines, which Go's base64 decoder skips but the
// schema's "byte" format does not: join them first.
function loadObjects(file) {
    return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { version: "1.1" })
        .map((doc) => {
            if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
            return doc.toJS();
        })
        .filter((o) => o)
        .map((o) => {
            if (o.kind === "Secret" && o.data) {
                for (const k of Object.keys(o.data)) o.data[k] = String(o.data[k]).replace(/[\r\n]/g, "");
            }
            return o;
        });
}

function groupVersion(apiVersion) {
    const slash = apiVersion.indexOf("/");
    return slash < 0 ? ["", apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

function describe(o) {
    return `${o.kind}/${(o.metadata || {}).name}`;
}

// Layer 1: kubernetes-models/<group>/<version>/<Kind> (core: kubernetes-models/<version>/<Kind>).
function checkSchemas(objects) {
    const errors = [];
    for (const o of objects) {
        const [group, version] = groupVersion(o.apiVersion || "");
        const module = ["kubernetes-models", group, version, o.kind].filter((p) => p).join("/");
        let Model;
        try {
            Model = require(module)[o.kind];
        } catch (e) {
            errors.push(`${describe(o)}: no schema for ${o.apiVersion} ${o.kind}`);
            continue;
        }
        try {
            new Model(o).validate();
        } catch (e) {
            errors.push(`${describe(o)}: ${e.message}`);
        }
    }
    return errors;
}

// Layer 2: `const o: DaemonSet = {...}` for each object, type-checked in memory.
function checkFields(objects) {
    const typesDir = path.dirname(require.resolve("kubernetes-types/package.json"));
    const lines = [];
    const errors = [];
    const where = [];
    objects.forEach((o, i) => {
        const [group, version] = groupVersion(o.apiVersion || "");
        const dir = group === "" ? "core" : group.replace(/\.k8s\.io$/, "").split(".")[0];
        const file = path.join(typesDir, dir, `${version}.d.ts`);
        if (!fs.existsSync(file) || !new RegExp(`interface ${o.kind} `).test(fs.readFileSync(file, "utf8"))) {
            errors.push(`${describe(o)}: no type for ${o.apiVersion} ${o.kind}`);
            return;
        }
        lines.push(`import type { ${o.kind} as T${i} } from ${JSON.stringify(file.replace(/\.d\.ts$/, ""))};`);
        where.push([lines.length, describe(o)]);
        lines.push(`export const o${i}: T${i} = ${JSON.stringify(o, null, 1)};`);
    });
    const source = lines.join("\n");
    const name = path.join(typesDir, "__virtgrpc_manifests__.ts");
    const options = { noEmit: true, strict: true, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const read = host.getSourceFile;
    host.getSourceFile = (file, lang, ...rest) =>
        file === name ? ts.createSourceFile(file, source, lang) : read(file, lang, ...rest);
    host.fileExists = ((exists) => (file) => file === name || exists(file))(host.fileExists);
    const program = ts.createProgram([name], options, host);
    for (const d of ts.getPreEmitDiagnostics(program)) {
        const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
        if (!d.file || d.file.fileName !== name) {
            errors.push(`TypeScript: ${text}`);
            continue;
        }
        const line = d.file.getLineAndCharacterOfPosition(d.start).line;
        const owner = where.filter(([start]) => start <= line).pop();
        const snippet = d.file.text.split("\n")[line].trim();
        errors.push(`${owner ? owner[1] : "?"}: ${text} (at ${snippet})`);
    }
    return errors;
}

// Layer 3.
function checkVirtgrpc(objects, configText, externalSecrets) {
    const errors = [];
    const byKind = (kind) => objects.filter((o) => o.kind === kind);
    const names = (kind) => new Set(byKind(kind).map((o) => o.metadata.name));
    const daemonSets = byKind("DaemonSet");
    if (daemonSets.length !== 1) errors.push(`expected one DaemonSet, found ${daemonSets.length}`);

    const configMaps = names("ConfigMap");
    const secrets = new Set([...names("Secret"), ...externalSecrets]);
    const accounts = names("ServiceAccount");

    for (const ds of daemonSets) {
        const pod = ds.spec.template.spec;
        const psc = pod.securityContext || {};
        const at = describe(ds);
        if (psc.runAsNonRoot !== true) errors.push(`${at}: pod securityContext.runAsNonRoot is not true`);
        if (!(psc.runAsUser > 0)) errors.push(`${at}: pod securityContext.runAsUser is not a non-root uid`);
        if ((psc.seccompProfile || {}).type !== "RuntimeDefault")
            errors.push(`${at}: pod seccompProfile is not RuntimeDefault`);
        if (pod.hostNetwork) errors.push(`${at}: hostNetwork would expose the plaintext health port on the node`);
        if (!accounts.has(pod.serviceAccountName))
            errors.push(`${at}: serviceAccountName '${pod.serviceAccountName}' is not among the objects`);

        for (const v of pod.volumes || []) {
            if (v.hostPath && v.hostPath.path !== "/run/libvirt")
                errors.push(`${at}: hostPath '${v.hostPath.path}' (only /run/libvirt is meant)`);
            const sources = v.projected ? v.projected.sources : [v];
            for (const s of sources) {
                const cm = s.configMap, sec = s.secret;
                if (cm && !configMaps.has(cm.name))
                    errors.push(`${at}: volume '${v.name}' uses ConfigMap '${cm.name}', which is not among the objects`);
                const secretName = sec && (sec.name || sec.secretName);
                if (secretName && !secrets.has(secretName))
                    errors.push(`${at}: volume '${v.name}' uses Secret '${secretName}', which is not among the objects`);
            }
        }
        if (!(pod.volumes || []).some((v) => v.hostPath && v.hostPath.path === "/run/libvirt"))
            errors.push(`${at}: the host's /run/libvirt is not mounted`);

        for (const c of pod.containers) {
            const cat = `${at} container '${c.name}'`;
            const sc = c.securityContext || {};
            if (sc.readOnlyRootFilesystem !== true) errors.push(`${cat}: readOnlyRootFilesystem is not true`);
            if (sc.allowPrivilegeEscalation !== false) errors.push(`${cat}: allowPrivilegeEscalation is not false`);
            if (sc.privileged) errors.push(`${cat}: privileged`);
            if (!((sc.capabilities || {}).drop || []).includes("ALL")) errors.push(`${cat}: capabilities do not drop ALL`);
            for (const kind of ["requests", "limits"]) {
                for (const r of ["cpu", "memory"]) {
                    if (!((c.resources || {})[kind] || {})[r]) errors.push(`${cat}: no resources.${kind}.${r}`);
                }
            }
            for (const p of ["readinessProbe", "startupProbe"]) {
                if (!c[p] || !c[p].grpc || c[p].grpc.port !== HEALTH_PORT)
                    errors.push(`${cat}: ${p} is not a grpc probe on the health port ${HEALTH_PORT}`);
            }
            const live = c.livenessProbe || {};
            if (((live.grpc || live.tcpSocket) || {}).port !== HEALTH_PORT)
                errors.push(`${cat}: livenessProbe does not ask the health port ${HEALTH_PORT}`);
            const ports = new Map((c.ports || []).map((p) => [p.containerPort, p]));
            for (const want of [GRPC_PORT, HEALTH_PORT]) {
                if (!ports.has(want)) errors.push(`${cat}: no containerPort ${want}`);
            }
            if (ports.has(HEALTH_PORT) && ports.get(HEALTH_PORT).hostPort)
                errors.push(`${cat}: the plaintext health port is published on the node`);
            const mounts = new Map((c.volumeMounts || []).map((m) => [m.mountPath, m]));
            for (const dir of ["/etc/virtgrpc", "/run/libvirt", "/run/virtgrpc"]) {
                if (!mounts.has(dir)) errors.push(`${cat}: nothing mounted at ${dir}`);
            }
        }
    }

    // The config the pods read is the example file itself, and its ports are the pod's.
    const cms = byKind("ConfigMap").filter((o) => (o.data || {})["virtgrpcd.conf"] !== undefined);
    if (cms.length !== 1) errors.push(`expected one ConfigMap with virtgrpcd.conf, found ${cms.length}`);
    for (const cm of cms) {
        if (cm.data["virtgrpcd.conf"] !== configText)
            errors.push(`${describe(cm)}: virtgrpcd.conf differs from deploy/config/virtgrpcd.conf`);
    }
    for (const port of [GRPC_PORT, HEALTH_PORT]) {
        if (!new RegExp(`^address *= *0\\.0\\.0\\.0:${port}$`, "m").test(configText))
            errors.push(`the config has no listener on 0.0.0.0:${port}`);
    }

    for (const svc of byKind("Service")) {
        for (const p of svc.spec.ports) {
            const named = daemonSets.some((ds) => ds.spec.template.spec.containers.some(
                (c) => (c.ports || []).some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort)));
            if (!named) errors.push(`${describe(svc)}: targetPort '${p.targetPort}' is no container port`);
            if (p.port === HEALTH_PORT) errors.push(`${describe(svc)}: exposes the plaintext health port`);
        }
        const labels = daemonSets.map((ds) => ds.spec.template.metadata.labels || {});
        const selects = labels.some((l) => Object.entries(svc.spec.selector || {}).every(([k, v]) => l[k] === v));
        if (!svc.spec.selector || !selects) errors.push(`${describe(svc)}: selects no DaemonSet pod`);
    }
    return errors;
}

function checkAll(objects, configText, externalSecrets) {
    return {
        schema: checkSchemas(objects),
        fields: checkFields(objects),
        virtgrpc: checkVirtgrpc(objects, configText, externalSecrets),
    };
}

// Each layer must catch a mistake of its own kind.
function selfTest(objects, configText, externalSecrets) {
    const mutations = [
        ["schema", "a string where a port number goes", (os) => {
            ds(os).spec.template.spec.containers[0].ports[0].containerPort = "fifty";
        }],
        ["fields", "a misspelt readOnlyRootFilesystem", (os) => {
            const sc = ds(os).spec.template.spec.containers[0].securityContext;
            sc.readOnlyRootFilesytem = sc.readOnlyRootFilesystem;
            delete sc.readOnlyRootFilesystem;
        }],
        ["virtgrpc", "a readiness probe on the TLS port", (os) => {
            ds(os).spec.template.spec.containers[0].readinessProbe.grpc.port = GRPC_PORT;
        }],
        ["virtgrpc", "an edited copy of the config", (os) => {
            const cm = os.find((o) => o.kind === "ConfigMap");
            cm.data["virtgrpcd.conf"] = cm.data["virtgrpcd.conf"].replace("workers=16", "workers=8");
        }],
    ];
    const before = checkAll(objects, configText, externalSecrets);
    let failed = false;
    for (const [layer, what, mutate] of mutations) {
        const copy = JSON.parse(JSON.stringify(objects));
        mutate(copy);
        const found = checkAll(copy, configText, externalSecrets)[layer]
            .filter((e) => !before[layer].includes(e));
        if (found.length === 0) {
            console.log(`FAIL: the ${layer} check missed ${what}`);
            failed = true;
        } else {
            console.log(`ok: the ${layer} check caught ${what}: ${found[0]}`);
        }
    }
    return failed;
}

function ds(objects) {
    return objects.find((o) => o.kind === "DaemonSet");
}

function main() {
    const args = parseArgs(process.argv.slice(2));
    const objects = loadObjects(args.rendered);
    const configText = fs.readFileSync(args.config, "utf8");
    if (args.selfTest) process.exit(selfTest(objects, configText, args.externalSecrets) ? 1 : 0);
    const found = checkAll(objects, configText, args.externalSecrets);
    let failed = false;
    for (const [layer, errors] of Object.entries(found)) {
        for (const e of errors) console.log(`FAIL (${layer}): ${e}`);
        failed = failed || errors.length > 0;
    }
    if (!failed) {
        console.log(`ok: ${objects.length} objects (${objects.map(describe).join(", ")}) ` +
                    "pass the Kubernetes schemas, the Kubernetes types and virtgrpcd's rules");
    }
    process.exit(failed ? 1 : 0);
}

main();
