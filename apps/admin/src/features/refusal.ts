/**
 * A service rule said no: a 4xx whose message the person sees (the error handler renders it as HTML or
 * JSON). Thrown before anything is written, or from inside a transaction so nothing is.
 */
export class Refusal extends Error {
  constructor(readonly statusCode: 400 | 403 | 404 | 409, message: string) {
    super(message);
    this.name = 'Refusal';
  }
}
