/** The shape of the server's dist/init.js, which the CLI loads only inside the repository. */
export interface InitResult {
  store: string
  bootstrap: { space: { id: string }; adminToken: { token: string } } | null
}
export declare function initStore(argv: string[]): Promise<InitResult>
