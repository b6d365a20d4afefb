#!/usr/bin/env bash
# Bazel test (//deploy:kubernetes-manifests-test): renders deploy/kubernetes/base and the
# example overlay with kustomize (kubectl kustomize, offline) and validates every object
# with k8s-validate.js: the Kubernetes API's schemas (ajv validators of kubernetes-models),
# its types (TypeScript + kubernetes-types: unknown fields are errors) and virtgrpcd's own
# rules. The overlay gets the certificates of deploy/make-certs.sh, as README tells a
# user to do. The Node packages come from deploy/tools/install-tools.sh (npm).
#
#   kubernetes-manifests-test.sh DEPLOY/make-certs.sh
# (the deploy/ directory it is in holds config/, kubernetes/ and tools/)
set -euo pipefail

deploy=$(cd "$(dirname "$1")" && pwd)
here=$deploy/tests
work=${TEST_TMPDIR:-$(mktemp -d)}

if ! command -v kubectl >/dev/null; then
    echo "FAIL: kubectl (with its built-in kustomize) is not installed" >&2
    exit 1
fi
echo "kubectl $(kubectl version --client 2>/dev/null | tr '\n' ' ')"

sh "$deploy/tools/install-tools.sh" "$work/tools"
export NODE_PATH=$work/tools/node_modules

# A copy, so that the overlay can get certificates without touching the source tree.
mkdir -p "$work/deploy"
cp -RL "$deploy/config" "$deploy/kubernetes" "$deploy/make-certs.sh" "$work/deploy/"
sh "$work/deploy/make-certs.sh" "$work/deploy/kubernetes/overlays/example/tls" >/dev/null

status=0
echo "== base"
kubectl kustomize "$work/deploy/kubernetes/base" >"$work/base.yaml"
# The base only refers to the Secret: users create it (deploy/README.md).
node "$here/k8s-validate.js" --config "$deploy/config/virtgrpcd.conf" \
    --external-secret virtgrpcd-tls "$work/base.yaml" || status=1

echo "== overlays/example"
kubectl kustomize "$work/deploy/kubernetes/overlays/example" >"$work/example.yaml"
node "$here/k8s-validate.js" --config "$deploy/config/virtgrpcd.conf" "$work/example.yaml" || status=1
for key in server.crt server.key ca.crt; do
    grep -q "^  $key: " "$work/example.yaml" || {
        echo "FAIL: the overlay's Secret has no $key"
        status=1
    }
done

echo "== each check can fail"
node "$here/k8s-validate.js" --self-test --config "$deploy/config/virtgrpcd.conf" \
    "$work/example.yaml" || status=1
exit "$status"
