/** SKILL.md files of the bundled skills are embedded as text (`with { type: "text" }`). */
declare module "*.md" {
  const text: string
  export default text
}
