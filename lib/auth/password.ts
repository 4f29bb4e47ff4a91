import bcrypt from 'bcryptjs';

/** bcrypt cost 10 (~60 ms here): costly enough to slow guessing, cheap enough for a login path. */
const BCRYPT_COST = 10;
/** bcrypt reads only the first 72 bytes; longer passwords are refused at input rather than silently truncated. */
export const PASSWORD_BYTES_MAX = 72;
export const PASSWORD_LENGTH_MIN = 10;

export const hashPassword = (password: string) => bcrypt.hash(password, BCRYPT_COST);
export const verifyPassword = (password: string, hash: string) => bcrypt.compare(password, hash);

/**
 * A hash of a random password, compared against when the email is unknown, so that a wrong email and a
 * wrong password take the same time and give the same answer.
 */
export const UNKNOWN_USER_HASH = bcrypt.hashSync('unknown-user-placeholder-password', BCRYPT_COST);
