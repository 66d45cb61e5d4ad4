"""The `cdn` section: Cloudflare zone settings and rulesets."""
