// Lint: typescript-eslint's recommended rules, plus a few that keep secrets and
// errors honest. Type-checking itself is `npm run typecheck`.
import tseslint from "typescript-eslint";

const CONFIG_READS = [
  { selector: "NewExpression[callee.property.name='Config']", message: "Read config in src/stack/ only, and hand the value down through the plan." },
  {
    selector: "MemberExpression[property.name=/^(getSecret|requireSecret|getSecretObject|requireSecretObject|allConfig|isConfigSecret)$/]",
    message: "Read secrets in src/stack/ only (src/stack/secrets.ts), and hand them down.",
  },
];

export default tseslint.config(
  { ignores: ["node_modules/**", "out/**", "bin/**", "policies/node_modules/**", "tests/addons/**", "coverage/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-console": "error",
      eqeqeq: ["error", "always"],
    },
  },
  { files: ["scripts/**", "bench/**", "tests/lab/images/**"], rules: { "no-console": "off" } },
  // The stack's config and secrets are read in src/stack/ alone and handed down (docs/architecture.md).
  { files: ["src/**/*.ts"], ignores: ["src/stack/**"], rules: { "no-restricted-syntax": ["error", ...CONFIG_READS] } },
  // A component's error names the resource it happened in: pulumi.ResourceError(message, this).
  {
    files: ["components/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        ...CONFIG_READS,
        { selector: "ThrowStatement > NewExpression[callee.name='Error']", message: "Throw pulumi.ResourceError(message, this): Pulumi then names the component that failed." },
      ],
    },
  },
  // Scripts servers run with the Node inside a container: CommonJS, with that container's modules.
  { files: ["templates/**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { process: "readonly", Buffer: "readonly", fetch: "readonly", setTimeout: "readonly", clearTimeout: "readonly" } }, rules: { "@typescript-eslint/no-require-imports": "off" } },
);
