// English text of the web client. i18n/ru.js has the same keys.

export default {
  'app.name': 'Profstage',
  'language.other': 'Русский',
  'language.switch': 'Переключить интерфейс на русский язык',

  'error.close': 'Close the message',
  'error.unexpected': 'Unexpected error: {message}',

  'index.title': 'Profstage: sign in',
  'index.heading': 'Enter a room',
  'index.loading': 'Connecting to the server…',
  'index.personal_link': 'To enter, open the personal link that the organiser sent you.',
  'index.dev_mode': 'Development mode: access is granted without checks.',
  'index.name': 'Name',
  'index.room': 'Room',
  'index.role': 'Role',
  'index.organiser_view': 'Open the page for',
  'index.view_watch': 'watching (as an expert)',
  'index.view_publish': 'streaming (as a participant)',
  'index.enter': 'Enter',
  'index.token_failed': 'The server granted no access. Check the name and room and try again.',
  'index.server_unreachable': 'The server is unreachable. Reload the page in a minute.',

  'role.participant': 'Participant',
  'role.expert': 'Expert',
  'role.organiser': 'Organiser',

  'token.missing':
    'The link has no access key. Open the personal link that the organiser sent you.',

  'participant.title': 'Profstage: participant',
  'participant.heading': 'Participant workplace',
  'participant.controls': 'Stream controls',
  'participant.organisers': 'Organiser',

  'devices.heading': 'Your camera and microphone',
  'devices.camera_preview': 'This is what the experts will see',
  'devices.screen_preview': 'Your screen as the experts see it',
  'devices.camera': 'Camera',
  'devices.microphone': 'Microphone',
  'devices.level': 'Microphone level',
  'devices.hint': 'Say a few words: the level bar should move.',
  'devices.camera_unnamed': 'Camera {number}',
  'devices.microphone_unnamed': 'Microphone {number}',

  'action.join': 'Start streaming',
  'action.share_screen': 'Share screen',
  'action.stop_sharing': 'Stop sharing',
  'action.enable_sound': 'Turn sound on',
  'action.leave': 'Leave',
  'action.publish_camera': 'Turn my camera on',
  'action.stop_camera': 'Turn my camera off',
  'action.rejoin': 'Connect again',

  'expert.title': 'Profstage: expert',
  'expert.heading': 'Room',
  'expert.room': '{room}',
  'expert.controls': 'Viewing controls',
  'expert.hint': 'Click a participant to enlarge; Esc to return.',
  'expert.empty': 'No participants in the room yet.',

  'organiser.bar': 'Organiser stream',

  'status.idle': 'Not connected',
  'status.connecting': 'Connecting…',
  'status.media_connecting': 'Setting up video…',
  'status.connected': 'Connected',
  'status.interrupted': 'Connection interrupted, recovering…',
  'status.failed': 'Connection lost',
  'status.left': 'You left',

  'tile.mute': 'Mute',
  'tile.unmute': 'Unmute',
  'tile.state.connecting': 'Connecting',
  'tile.state.live': 'Live',
  'tile.state.no-video': 'No video',
  'tile.state.disconnected': 'Disconnected',

  'capture.denied.camera':
    'No access to the camera. Allow it in the browser settings and reload the page.',
  'capture.denied.microphone':
    'No access to the microphone. Allow it in the browser settings and reload the page.',
  'capture.denied.screen': 'Screen sharing was cancelled or is not allowed.',
  'capture.missing.camera': 'No camera found. Connect a camera and reload the page.',
  'capture.missing.microphone': 'No microphone found. Connect a microphone and reload the page.',
  'capture.missing.screen': 'Nothing to share: the browser found no screens or windows.',
  'capture.busy.camera': 'Another program is using the camera. Close it and reload the page.',
  'capture.busy.microphone':
    'Another program is using the microphone. Close it and reload the page.',
  'capture.busy.screen': 'The screen could not be captured. Try again.',
  'capture.failed.camera': 'The camera could not be started.',
  'capture.failed.microphone': 'The microphone could not be started.',
  'capture.failed.screen': 'Screen sharing could not be started.',
  'capture.insecure':
    'The browser allows the camera only on a secure (https) address. Contact the organiser.',

  'connection.unreachable': 'Could not connect to the server. Check the network and try again.',
  'connection.lost': 'The connection to the server was lost. Connect again.',
  'connection.publishing_failed':
    'The video connection to the server failed. Check the network and connect again.',
  'connection.receiving_failed':
    'Video from the server does not arrive. Check the network and connect again.',
  'connection.answer_timeout': 'The server did not answer in time. Try again.',

  'server_error.invalid_message': 'The server could not read a client message: {message}',
  'server_error.unknown_type': 'The server does not know this message: {message}',
  'server_error.message_too_large': 'The message is too large: {message}',
  'server_error.unsupported_protocol':
    'This client version does not match the server. Reload the page.',
  'server_error.not_joined': 'The client has not entered the room yet: {message}',
  'server_error.already_joined': 'The client is already in the room: {message}',
  'server_error.invalid_token': 'The link is invalid. Ask the organiser for a new one.',
  'server_error.token_expired':
    'The link has expired. Ask the organiser for a new one.',
  'server_error.unknown_room': 'This room does not exist.',
  'server_error.session_replaced':
    'You joined this room from another page or device, so this session has ended.',
  'server_error.forbidden': 'Your role may not do this: {message}',
  'server_error.invalid_sdp': 'The server rejected the media description: {message}',
  'server_error.no_media': 'Nothing to send: no camera and no microphone. ({message})',
  'server_error.unsupported_codec': 'The browser lacks the required codecs: {message}',
  'server_error.no_pending_offer': 'The server was not waiting for an answer: {message}',
  'server_error.rate_limited': 'Too many requests. Wait a moment.',
  'server_error.internal': 'Internal server error. Try again.',
  'server_error.unknown': 'Server error: {message}',
};
