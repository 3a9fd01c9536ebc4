#!/bin/sh
# Print a short-lived Google Cloud access token for a GitLab CI job, through
# Workload Identity Federation: no service account key exists anywhere.
#
#   GCP_ID_TOKEN                    the job's OIDC token (id_tokens, audience
#                                   https://iam.googleapis.com/<provider>)
#   GCP_WORKLOAD_IDENTITY_PROVIDER  projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>
#   GCP_SERVICE_ACCOUNT             the service account the job acts as
#
# Google's Security Token Service trades the OIDC token for a federated token,
# which then asks the IAM Credentials API for the service account's one-hour
# access token. Tokens travel on stdin, never on a command line. Needs curl.
# Exit status: 0 with the token on stdout, 1 on any failure.
set -eu

fail() {
  echo "gcp-access-token: $*" >&2
  exit 1
}

[ -n "${GCP_ID_TOKEN:-}" ] || fail "GCP_ID_TOKEN is empty: give the job id_tokens (see docs/deployment.md)"
[ -n "${GCP_WORKLOAD_IDENTITY_PROVIDER:-}" ] || fail "set the CI/CD variable GCP_WORKLOAD_IDENTITY_PROVIDER"
[ -n "${GCP_SERVICE_ACCOUNT:-}" ] || fail "set the CI/CD variable GCP_SERVICE_ACCOUNT"
command -v curl >/dev/null 2>&1 || fail "needs curl"

# The string value of one key of a one-object JSON document on stdin.
json_string() {
  tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"
}

federated="$(printf '%s' "$GCP_ID_TOKEN" | curl --silent --show-error --fail-with-body \
  --data-urlencode "grant_type=urn:ietf:params:oauth:grant-type:token-exchange" \
  --data-urlencode "audience=//iam.googleapis.com/$GCP_WORKLOAD_IDENTITY_PROVIDER" \
  --data-urlencode "scope=https://www.googleapis.com/auth/cloud-platform" \
  --data-urlencode "requested_token_type=urn:ietf:params:oauth:token-type:access_token" \
  --data-urlencode "subject_token_type=urn:ietf:params:oauth:token-type:jwt" \
  --data-urlencode "subject_token@-" \
  https://sts.googleapis.com/v1/token | json_string access_token)" || true
[ -n "$federated" ] || fail "the Security Token Service refused the job's token (check the provider's issuer, audience and attribute condition)"

token="$(printf 'Authorization: Bearer %s\n' "$federated" | curl --silent --show-error --fail-with-body \
  --header @- --header "Content-Type: application/json" \
  --data '{"scope": ["https://www.googleapis.com/auth/cloud-platform"]}' \
  "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/$GCP_SERVICE_ACCOUNT:generateAccessToken" \
  | json_string accessToken)" || true
[ -n "$token" ] || fail "could not act as $GCP_SERVICE_ACCOUNT (grant the pool's principal roles/iam.workloadIdentityUser on it)"
printf '%s\n' "$token"
