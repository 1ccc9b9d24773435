"""Print the README's configuration table from gymgate.settings.SETTINGS_DOC."""

from gymgate.settings import ENV_PREFIX, SETTINGS_DOC

print("| variable | meaning |")
print("|---|---|")
for key, doc in SETTINGS_DOC.items():
    print(f"| `{ENV_PREFIX}{key}` | {doc} |")
