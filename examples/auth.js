// A stand-in for your application's sign-in: the staff member making the request.
// Here it comes from STAFF_ID / STAFF_EMAIL in .env; in your app, from the session in `ctx`.
export async function getCurrentUser(ctx) {
  return ctx.user ?? { id: process.env.STAFF_ID ?? 'u_1', email: process.env.STAFF_EMAIL ?? 'support@example.com' }
}
