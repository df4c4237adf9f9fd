/** Module shapes for files the bundler embeds (SQL migrations as text, native libraries as file paths). */
declare module "*.sql" {
  const text: string
  export default text
}
declare module "*.so" {
  const path: string
  export default path
}
declare module "*.dylib" {
  const path: string
  export default path
}
