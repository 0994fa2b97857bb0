/**
 * `--native-answers [on|off]` (env SWITCHBOARD_NATIVE_ANSWERS): whether queries are answered in
 * C from zone images (src/server/shared/native-answers.ts). Kept apart from that module so a
 * command line is checked without loading the image compiler.
 * @module
 */
import { ConfigError } from './options.js';

/** The environment variable that sets the default. */
export const NATIVE_ANSWERS_ENV = 'SWITCHBOARD_NATIVE_ANSWERS';

/**
 * `true`: on (a warning when the UDP path is not native); `false`: off; `'auto'`: on when the
 * workers serve zone images (`--images on`) over the native UDP path, silently off otherwise.
 */
export type NativeAnswersMode = boolean | 'auto';

/**
 * The flag's value (`true` when given without one), else the environment's, else `'auto'`
 * with images on and `false` with images off.
 * @throws ConfigError for anything but on/off/auto (1/0)
 */
export function parseNativeAnswers(
  value: string | boolean | undefined,
  images: boolean,
  env: NodeJS.ProcessEnv = process.env,
): NativeAnswersMode {
  if (value === true) return true;
  if (value === false) return false;
  const v = value ?? env[NATIVE_ANSWERS_ENV];
  if (v === undefined || v === 'auto') return images ? 'auto' : false;
  if (v === 'on' || v === '1' || v === '') return true;
  if (v === 'off' || v === '0') return false;
  const from = value === undefined ? NATIVE_ANSWERS_ENV : '--native-answers';
  throw new ConfigError(`${from} must be on, off or auto, got '${v}'`);
}
