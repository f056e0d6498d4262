// OIDC provider tests come next.
