// Lint: typescript-eslint's recommended rules, plus a few that keep secrets and
// errors honest. Type-checking itself is `npm run typecheck`.
import tseslint from "typescript-eslint";

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
  // Scripts servers run with the Node inside a container: CommonJS, with that container's modules.
  { files: ["templates/**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { process: "readonly", Buffer: "readonly", fetch: "readonly", setTimeout: "readonly", clearTimeout: "readonly" } }, rules: { "@typescript-eslint/no-require-imports": "off" } },
);
