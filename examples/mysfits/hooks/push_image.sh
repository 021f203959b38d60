#!/bin/sh
# after_deploy hook: builds the service image from $STACKC_IMAGE_CONTEXT (a folder with a Dockerfile)
# and pushes it to the repository this layer created, tagged with the environment's image tag.
# Skipped, with a line saying so, when no build context is given (CI, or the image is built elsewhere).
set -eu
if [ -z "${STACKC_IMAGE_CONTEXT:-}" ]; then
  echo "no STACKC_IMAGE_CONTEXT: not building an image (set it to the folder with the Dockerfile)"
  exit 0
fi
repo="$STACKC_OUTPUT_RepositoryUri"
tag="${STACKC_IMAGE_TAG:-latest}"
aws ecr get-login-password --region "$STACKC_REGION" | docker login --username AWS --password-stdin "${repo%%/*}"
docker build -t "$repo:$tag" "$STACKC_IMAGE_CONTEXT"
docker push "$repo:$tag"
