#!/usr/bin/env bash
# Deploys Clawback to Azure with plain `az` calls, from nothing to an app that takes verdicts:
# resource group, Bicep template, Graph application with a certificate Key Vault generates, admin consent,
# the code, a key for the security platform and (with --domain) a first configuration document.
#
# Idempotent: every step looks before it changes anything, so running it again converges instead of
# duplicating (no second app registration, no rotated key, no second certificate credential).
#
# Usage: scripts/deploy.sh --resource-group <name> --alert-email <address> [options]
#   --location <region>        region of a new resource group (a Flex Consumption region; required when
#                              the group does not exist yet: az functionapp list-flexconsumption-locations)
#   --base-name <name>         3-10 lower-case letters and digits the resource names derive from (clawback)
#   --subscription <id|name>   the subscription (default: the CLI's current one)
#   --graph-app-name <name>    display name of the Graph application registration (Clawback Graph)
#   --domain <domain>          write clawback.config.json (if absent) mapping <domain> to the Graph
#                              profile, and apply it
#   --defender                 also grant SecurityAlert.Read.All (the Microsoft Defender pull connector)
#   --skip-code                do not package and deploy the code
#   --dry-run                  look things up, print the changing az commands, change nothing
set -euo pipefail
cd "$(dirname "$0")/.."

RESOURCE_GROUP='' LOCATION='' ALERT_EMAIL='' BASE_NAME='clawback' SUBSCRIPTION=''
GRAPH_APP_NAME='Clawback Graph' DOMAIN='' DEFENDER=0 SKIP_CODE=0 DRY_RUN=0
DEPLOYMENT='clawback' CERT_NAME='clawback-graph' PLATFORM_KEY_NAME='security-platform'
GRAPH='00000003-0000-0000-c000-000000000000'
CONFIG_FILE='clawback.config.json' ENV_FILE='.clawback/azure.env'

usage() { sed -n '10,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --resource-group) RESOURCE_GROUP="${2:?}"; shift 2 ;;
    --location) LOCATION="${2:?}"; shift 2 ;;
    --alert-email) ALERT_EMAIL="${2:?}"; shift 2 ;;
    --base-name) BASE_NAME="${2:?}"; shift 2 ;;
    --subscription) SUBSCRIPTION="${2:?}"; shift 2 ;;
    --graph-app-name) GRAPH_APP_NAME="${2:?}"; shift 2 ;;
    --domain) DOMAIN="${2:?}"; shift 2 ;;
    --defender) DEFENDER=1; shift ;;
    --skip-code) SKIP_CODE=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    *) echo "Unknown option $1" >&2; usage ;;
  esac
done
if [ -z "$RESOURCE_GROUP" ] || [ -z "$ALERT_EMAIL" ]; then usage; fi

# Progress goes to fd 3 (the terminal), so it shows even from inside $( ).
exec 3>&1
TOTAL=8
step() { printf '\n[%s/%s] %s\n' "$1" "$TOTAL" "$2" >&3; }
say() { printf '  %s\n' "$*" >&3; }
# Shell-quotes one word for display, in single quotes unless it needs none.
quote() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:=@,+-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}
# The command line as it runs, with the value after --key masked.
show() {
  local line='  $ az' mask=0 arg
  for arg in "$@"; do
    if [ "$mask" -eq 1 ]; then line+=' ***'; mask=0; continue; fi
    line+=" $(quote "$arg")"
    [ "$arg" = '--key' ] && mask=1
  done
  printf '%s\n' "$line" >&3
}
# A lookup: runs in --dry-run too; prints nothing, an empty answer when the thing does not exist.
look() { az "$@" 2>/dev/null || true; }
# A change: printed, and run unless --dry-run. Its stdout is the result; in --dry-run, the placeholder $1.
change() {
  local placeholder="$1"; shift
  show "$@"
  if [ "$DRY_RUN" -eq 1 ]; then printf '%s' "$placeholder"; else az "$@"; fi
}
# Retries a change that depends on something Azure is still propagating (role assignments, a new host).
settle() {
  local placeholder="$1" attempt; shift
  show "$@"
  if [ "$DRY_RUN" -eq 1 ]; then printf '%s' "$placeholder"; return 0; fi
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if az "$@"; then return 0; fi
    say "not ready yet (attempt $attempt of 10); waiting 30 s"
    sleep 30
  done
  return 1
}
[ "$DRY_RUN" -eq 1 ] && say 'Dry run: lookups run, changes are only printed.'

step 1 'Subscription and resource providers'
# Only the CLI's own state: run in --dry-run too, so the lookups ask the right subscription.
if [ -n "$SUBSCRIPTION" ]; then show account set --subscription "$SUBSCRIPTION"; az account set --subscription "$SUBSCRIPTION"; fi
ACCOUNT=$(look account show --query '[tenantId, user.name]' --output tsv | tr '\t\n' '  ')
[ -n "$ACCOUNT" ] || { say 'Not signed in: run az login first.'; [ "$DRY_RUN" -eq 1 ] || exit 1; }
TENANT_ID=$(printf '%s' "$ACCOUNT" | cut -d' ' -f1)
TENANT_ID=${TENANT_ID:-'<tenant-id>'}
say "tenant $TENANT_ID, signed in as $(printf '%s' "$ACCOUNT" | cut -d' ' -f2)"
for ns in Microsoft.Web Microsoft.ServiceBus Microsoft.Storage Microsoft.KeyVault Microsoft.Insights \
  Microsoft.OperationalInsights Microsoft.ManagedIdentity; do
  if [ "$(look provider show --namespace "$ns" --query registrationState --output tsv)" != 'Registered' ]; then
    change '' provider register --namespace "$ns" --wait --output none
  fi
done

step 2 "Resource group $RESOURCE_GROUP"
if [ "$(look group exists --name "$RESOURCE_GROUP")" = 'true' ]; then
  say 'exists'
else
  [ -n "$LOCATION" ] || { say 'The group does not exist: pass --location <region>.'; exit 2; }
  change '' group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
fi

step 3 'Infrastructure (infra/main.bicep; incremental, so a rerun only converges)'
change '' deployment group create --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT" --mode Incremental \
  --template-file infra/main.bicep --parameters infra/main.bicepparam \
  --parameters baseName="$BASE_NAME" alertEmailAddress="$ALERT_EMAIL" --output none
output() {
  local value
  value=$(look deployment group show --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT" \
    --query "properties.outputs.$1.value" --output tsv)
  printf '%s' "${value:-<$1>}"
}
APP=$(output name)
URL=$(output functionAppUrl)
KEY_VAULT=$(output keyVaultName)
say "Function App $APP, Key Vault $KEY_VAULT"

step 4 "Graph application certificate, generated inside Key Vault $KEY_VAULT"
ME=$(look ad signed-in-user show --query id --output tsv)
VAULT_ID=$(look keyvault show --name "$KEY_VAULT" --query id --output tsv)
VAULT_ID=${VAULT_ID:-'<key-vault-id>'}
if [ -n "$ME" ] && [ -z "$(look role assignment list --assignee "$ME" --role 'Key Vault Certificates Officer' \
  --scope "$VAULT_ID" --query '[0].id' --output tsv)" ]; then
  change '' role assignment create --assignee-object-id "$ME" --assignee-principal-type User \
    --role 'Key Vault Certificates Officer' --scope "$VAULT_ID" --output none
fi
if [ -z "$(look keyvault certificate show --vault-name "$KEY_VAULT" --name "$CERT_NAME" --query id --output tsv)" ]; then
  # PEM, exportable: the app reads key and certificate as the secret of the same name.
  POLICY='{"issuerParameters":{"name":"Self"},"keyProperties":{"exportable":true,"keyType":"RSA","keySize":2048,"reuseKey":false},"secretProperties":{"contentType":"application/x-pem-file"},"x509CertificateProperties":{"subject":"CN=clawback-graph","validityInMonths":12,"keyUsage":["digitalSignature"]},"lifetimeActions":[{"trigger":{"daysBeforeExpiry":30},"action":{"actionType":"AutoRenew"}}]}'
  settle '' keyvault certificate create --vault-name "$KEY_VAULT" --name "$CERT_NAME" --policy "$POLICY" --output none
else
  say "certificate $CERT_NAME exists"
fi

step 5 "Graph application \"$GRAPH_APP_NAME\", its permissions and admin consent"
APP_ID=$(look ad app list --display-name "$GRAPH_APP_NAME" --query '[0].appId' --output tsv)
if [ -z "$APP_ID" ]; then
  APP_ID=$(change '<graph-app-id>' ad app create --display-name "$GRAPH_APP_NAME" \
    --sign-in-audience AzureADMyOrg --query appId --output tsv)
else
  say "registration exists: $APP_ID"
fi
# A new registration takes a moment to replicate before its service principal can be created.
[ -n "$(look ad sp show --id "$APP_ID" --query id --output tsv)" ] || settle '' ad sp create --id "$APP_ID" --output none
PERMISSIONS='Mail.ReadWrite Mail.Send GroupMember.Read.All User.Read.All'
[ "$DEFENDER" -eq 1 ] && PERMISSIONS+=' SecurityAlert.Read.All'
GRANTED=$(look ad app permission list --id "$APP_ID" --query "[?resourceAppId=='$GRAPH'].resourceAccess[].id" --output tsv)
MISSING=()
for permission in $PERMISSIONS; do
  ROLE_ID=$(look ad sp show --id "$GRAPH" --query "appRoles[?value=='$permission'].id | [0]" --output tsv)
  ROLE_ID=${ROLE_ID:-"<$permission>"}
  printf '%s\n' "$GRANTED" | grep -qx -- "$ROLE_ID" || MISSING+=("$ROLE_ID=Role")
done
if [ "${#MISSING[@]}" -gt 0 ]; then
  change '' ad app permission add --id "$APP_ID" --api "$GRAPH" --api-permissions "${MISSING[@]}" --output none
fi
settle '' ad app permission admin-consent --id "$APP_ID" --output none
THUMBPRINT=$(look keyvault certificate show --vault-name "$KEY_VAULT" --name "$CERT_NAME" \
  --query x509ThumbprintHex --output tsv)
# Graph sets customKeyIdentifier to the certificate's thumbprint; accept it in hex or in base64.
THUMBPRINT_B64=$(node -e "process.stdout.write(Buffer.from(process.argv[1], 'hex').toString('base64'))" "$THUMBPRINT")
if [ -n "$THUMBPRINT" ] && look ad app credential list --id "$APP_ID" --cert --query '[].customKeyIdentifier' \
  --output tsv | grep -qixF -e "$THUMBPRINT" -e "$THUMBPRINT_B64"; then
  say 'the Key Vault certificate is already a credential of the registration'
else
  change '' ad app credential reset --id "$APP_ID" --keyvault "$KEY_VAULT" --cert "$CERT_NAME" --append --output none
fi

step 6 'Code (npm run package; Flex Consumption deploys with config-zip)'
if [ "$SKIP_CODE" -eq 1 ]; then
  say 'skipped (--skip-code)'
else
  printf '  $ npm run package\n' >&3
  [ "$DRY_RUN" -eq 1 ] || npm run package --silent
  settle '' functionapp deployment source config-zip --resource-group "$RESOURCE_GROUP" --name "$APP" \
    --src dist/clawback.zip --output none
fi

step 7 "A function key for the security platform ($PLATFORM_KEY_NAME, ingestVerdict only)"
key() {
  look functionapp function keys list --resource-group "$RESOURCE_GROUP" --name "$APP" \
    --function-name ingestVerdict --query "\"$PLATFORM_KEY_NAME\"" --output tsv
}
INGEST_KEY=$(key)
if [ -z "$INGEST_KEY" ]; then
  settle '' functionapp function keys set --resource-group "$RESOURCE_GROUP" --name "$APP" \
    --function-name ingestVerdict --key-name "$PLATFORM_KEY_NAME" --output none
  INGEST_KEY=$(key)
fi
INGEST_KEY=${INGEST_KEY:-'<ingest-key>'}
HOST_KEYS=$(look functionapp keys list --resource-group "$RESOURCE_GROUP" --name "$APP" \
  --query '[functionKeys.default, masterKey]' --output tsv | tr '\n' ' ')
DEFAULT_KEY=$(printf '%s' "$HOST_KEYS" | cut -d' ' -f1)
ADMIN_KEY=$(printf '%s' "$HOST_KEYS" | cut -d' ' -f2)

step 8 'Configuration document'
if [ -z "$DOMAIN" ]; then
  say "no --domain: write the configuration (docs/deploy.md) and apply it with npx clawback config apply"
else
  if [ -e "$CONFIG_FILE" ]; then
    say "$CONFIG_FILE exists; applying it unchanged"
  elif [ "$DRY_RUN" -eq 1 ]; then
    say "would write $CONFIG_FILE: profile online (tenant $TENANT_ID, client $APP_ID, certificate $CERT_NAME) for $DOMAIN"
  else
    cat >"$CONFIG_FILE" <<EOF
{
  "settings": { "mode": "enforce" },
  "profiles": [
    {
      "name": "online",
      "type": "graph",
      "tenantId": "$TENANT_ID",
      "clientId": "$APP_ID",
      "certificate": { "keyVaultSecret": "$CERT_NAME" }
    }
  ],
  "domains": { "$DOMAIN": "online" },
  "policies": [
    { "verdict": "malicious", "action": "softDelete" },
    { "verdict": "suspicious", "action": "moveToJunk" },
    { "verdict": "clean", "action": "restore" }
  ]
}
EOF
    say "wrote $CONFIG_FILE"
  fi
  printf '  $ npx clawback config apply %s --url %s --key ***\n' "$CONFIG_FILE" "$URL" >&3
  if [ "$DRY_RUN" -eq 0 ]; then
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      npx clawback config apply "$CONFIG_FILE" --url "$URL" --key "$ADMIN_KEY" && break
      [ "$attempt" -lt 10 ] || exit 1
      say "the app is not answering yet (attempt $attempt of 10); waiting 30 s"
      sleep 30
    done
  fi
fi

if [ "$DRY_RUN" -eq 0 ]; then
  mkdir -p "$(dirname "$ENV_FILE")"
  (umask 077 && printf 'export CLAWBACK_URL=%q\nexport CLAWBACK_KEY=%q\nexport CLAWBACK_INGEST_KEY=%q\n' \
    "$URL" "$DEFAULT_KEY" "$INGEST_KEY" >"$ENV_FILE")
fi

if [ "$DRY_RUN" -eq 1 ]; then
  printf '\nDry run finished: nothing was changed. Without --dry-run it ends with:\n'
fi
cat <<EOF

Clawback is deployed.
  Give the security platform:
    URL     $URL/api/verdicts   (POST, header x-functions-key)
    Key     $INGEST_KEY
  Graph application: $APP_ID in tenant $TENANT_ID (certificate $CERT_NAME in Key Vault $KEY_VAULT)
  $ENV_FILE holds CLAWBACK_URL, CLAWBACK_KEY (the default function key) and CLAWBACK_INGEST_KEY:
    . $ENV_FILE && npx clawback verdicts show <verdictId>
EOF
