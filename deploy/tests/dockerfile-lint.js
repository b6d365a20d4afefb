// Lints deploy/container/Dockerfile without a Docker engine: dockerfile-utils' validator
// (the Dockerfile language server's diagnostics: unknown instructions, bad flags, bad
// ports, malformed HEALTHCHECK, ...) over the file, then virtgrpcd's rules on the
// dockerfile-ast parse: Debian 12 stages, a non-root USER, a HEALTHCHECK, the exec-form
// ENTRYPOINT with the config path the other deployments use, the two ports, COPY sources
// that exist in the build context. --self-test proves that both layers can fail.
//
//   node dockerfile-lint.js [--self-test] DOCKERFILE CONTEXT_DIR
"use strict";
const fs = require("fs");
const path = require("path");
const { validate } = require("dockerfile-utils");
const { DockerfileParser } = require("dockerfile-ast");

const ENTRYPOINT = ["/usr/local/sbin/virtgrpcd", "--config", "/etc/virtgrpc/virtgrpcd.conf"];

function lint(text) {
    return validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

function rules(text, context) {
    const errors = [];
    const dockerfile = DockerfileParser.parse(text);
    const args = new Map();
    for (const arg of dockerfile.getInitialARGs()) {
        const p = arg.getProperty();
        if (p) args.set(p.getName(), p.getValue());
    }
    const froms = dockerfile.getFROMs();
    if (froms.length < 2) errors.push(`${froms.length} stage(s): a build and a runtime stage are expected`);
    for (const from of froms) {
        const image = from.getImage().replace(/^\$\{(\w+)\}$/, (_, name) => args.get(name) || "");
        if (!/^debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/.test(image))
            errors.push(`line ${from.getRange().start.line + 1}: FROM '${from.getImage()}' is not Debian 12 (bookworm)`);
    }
    const instructions = dockerfile.getInstructions();
    const lastFrom = froms.length ? froms[froms.length - 1].getRange().start.line : 0;
    const final = instructions.filter((i) => i.getRange().start.line >= lastFrom);
    const of = (keyword) => final.filter((i) => i.getKeyword() === keyword);

    const users = of("USER");
    const user = users.length ? users[users.length - 1].getArgumentsContent() : "";
    if (!/^[1-9][0-9]*(:[0-9]+)?$/.test(user))
        errors.push(`final stage: USER '${user}' is not a numeric non-root uid (Kubernetes' runAsNonRoot needs one)`);
    if (!of("HEALTHCHECK").length) errors.push("final stage: no HEALTHCHECK");
    const entry = of("ENTRYPOINT").pop();
    let argv = null;
    try {
        argv = entry && JSON.parse(entry.getArgumentsContent());
    } catch (e) {
        argv = null;
    }
    if (JSON.stringify(argv) !== JSON.stringify(ENTRYPOINT))
        errors.push(`final stage: ENTRYPOINT is not the exec form ${JSON.stringify(ENTRYPOINT)}`);
    const exposed = of("EXPOSE").flatMap((i) => i.getArguments().map((a) => a.getValue()));
    for (const port of ["50051", "50052"]) {
        if (!exposed.includes(port)) errors.push(`final stage: port ${port} is not EXPOSEd`);
    }
    if (!of("COPY").some((i) => /--from=build\b/.test(i.getTextContent()) && /virtgrpcd/.test(i.getTextContent())))
        errors.push("final stage: virtgrpcd is not copied from the build stage");
    for (const copy of instructions.filter((i) => i.getKeyword() === "COPY")) {
        if (/--from=/.test(copy.getTextContent())) continue;
        const sources = copy.getArguments().map((a) => a.getValue()).filter((v) => !v.startsWith("--")).slice(0, -1);
        for (const source of sources) {
            if (!fs.existsSync(path.join(context, source)))
                errors.push(`line ${copy.getRange().start.line + 1}: COPY source '${source}' is not in the build context`);
        }
    }
    return errors;
}

function main() {
    const argv = process.argv.slice(2);
    const selfTest = argv[0] === "--self-test";
    const [file, context] = selfTest ? argv.slice(1) : argv;
    const text = fs.readFileSync(file, "utf8");
    if (selfTest) {
        const broken = [
            ["lint", "an unknown instruction", text.replace(/^USER /m, "USR ")],
            ["lint", "a HEALTHCHECK without a command", text.replace(/HEALTHCHECK[^]*?CMD \[.*\]\n/, "HEALTHCHECK CMD\n")],
            ["rules", "USER root", text.replace(/^USER .*/m, "USER root")],
            ["rules", "a missing COPY source", text.replace("deploy/config/virtgrpcd.conf", "deploy/virtgrpcd.ini")],
            ["rules", "a non-Debian base", text.replace("debian:bookworm-slim", "ubuntu:24.04")],
        ];
        let failed = false;
        for (const [layer, what, mutated] of broken) {
            const found = mutated === text ? [] : (layer === "lint" ? lint(mutated) : rules(mutated, context));
            console.log(found.length ? `ok: ${layer} caught ${what}: ${found[0]}` : `FAIL: ${layer} missed ${what}`);
            failed = failed || !found.length;
        }
        process.exit(failed ? 1 : 0);
    }
    const errors = [...lint(text).map((e) => `lint: ${e}`), ...rules(text, context).map((e) => `rules: ${e}`)];
    for (const e of errors) console.log(`FAIL (${file}) ${e}`);
    if (!errors.length) console.log(`ok: ${file} passes dockerfile-utils and virtgrpcd's rules`);
    process.exit(errors.length ? 1 : 0);
}

main();
