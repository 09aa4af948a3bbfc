// Turns the errors of a session into the i18n key and values for the error banner.

import { captureErrorKey } from './media-devices.js';

const SERVER_ERROR_CODES = new Set([
  'invalid_message',
  'unknown_type',
  'message_too_large',
  'unsupported_protocol',
  'not_joined',
  'already_joined',
  'invalid_token',
  'token_expired',
  'unknown_room',
  'session_replaced',
  'forbidden',
  'invalid_sdp',
  'no_media',
  'unsupported_codec',
  'no_pending_offer',
  'rate_limited',
  'internal',
  'not_briefing',
  'invalid_text',
  'unknown_peer',
  'room_kind_mismatch',
  'invalid_source',
  'talk_busy',
  'not_talking',
  'participant_absent',
  'media_lost',
]);

/** Returns `{key, vars}` describing `error` to the user. */
export function describeError(error) {
  switch (error?.name) {
    case 'ServerError': {
      const code = SERVER_ERROR_CODES.has(error.code) ? error.code : 'unknown';
      return { key: `server_error.${code}`, vars: { message: error.serverMessage } };
    }
    case 'ConnectionClosedError':
      return { key: 'connection.unreachable', vars: {} };
    case 'ConnectionLostError':
      return { key: 'connection.lost', vars: {} };
    case 'MediaConnectionError':
      return { key: `connection.${error.which}_failed`, vars: {} };
    case 'AnswerTimeoutError':
      return { key: 'connection.answer_timeout', vars: {} };
    default:
      return { key: 'error.unexpected', vars: { message: error?.message ?? String(error) } };
  }
}

const CAPTURE_ERRORS = new Set([
  'NotAllowedError',
  'SecurityError',
  'NotFoundError',
  'OverconstrainedError',
  'NotReadableError',
  'AbortError',
  'InsecureContextError',
]);

/** Returns `{key, vars}` for a failure to start screen sharing. */
export function describeScreenError(error) {
  if (CAPTURE_ERRORS.has(error?.name)) {
    return { key: captureErrorKey(error, 'screen'), vars: {} };
  }
  return describeError(error);
}
