// Russian text of the web client. i18n/en.js has the same keys.

export default {
  'app.name': 'Profstage',
  'language.other': 'English',
  'language.switch': 'Switch the interface to English',

  'error.close': 'Закрыть сообщение',
  'error.unexpected': 'Непредвиденная ошибка: {message}',

  'index.title': 'Profstage — вход',
  'index.heading': 'Вход в комнату',
  'index.loading': 'Подключение к серверу…',
  'index.personal_link':
    'Чтобы войти, откройте персональную ссылку, которую вам прислал организатор.',
  'index.dev_mode': 'Режим разработки: доступ выдаётся без проверки.',
  'index.name': 'Имя',
  'index.room': 'Комната',
  'index.role': 'Роль',
  'index.organiser_view': 'Открыть страницу',
  'index.view_watch': 'наблюдения (как эксперт)',
  'index.view_publish': 'трансляции (как участник)',
  'index.enter': 'Войти',
  'index.token_failed': 'Сервер не выдал доступ. Проверьте имя и комнату и попробуйте ещё раз.',
  'index.server_unreachable': 'Сервер недоступен. Обновите страницу через минуту.',

  'role.participant': 'Участник',
  'role.expert': 'Эксперт',
  'role.organiser': 'Организатор',

  'token.missing':
    'В ссылке нет ключа доступа. Откройте персональную ссылку, которую прислал организатор.',

  'participant.title': 'Profstage — участник',
  'participant.heading': 'Рабочее место участника',
  'participant.controls': 'Управление трансляцией',
  'participant.organisers': 'Организатор',

  'devices.heading': 'Ваши камера и микрофон',
  'devices.camera_preview': 'Так вас увидят эксперты',
  'devices.screen_preview': 'Ваш экран, как его видят эксперты',
  'devices.camera': 'Камера',
  'devices.microphone': 'Микрофон',
  'devices.level': 'Уровень звука микрофона',
  'devices.hint': 'Скажите несколько слов: полоса уровня должна двигаться.',
  'devices.camera_unnamed': 'Камера {number}',
  'devices.microphone_unnamed': 'Микрофон {number}',

  'action.join': 'Начать трансляцию',
  'action.share_screen': 'Показать экран',
  'action.stop_sharing': 'Остановить показ экрана',
  'action.enable_sound': 'Включить звук',
  'action.leave': 'Выйти',
  'action.publish_camera': 'Включить мою камеру',
  'action.stop_camera': 'Выключить мою камеру',
  'action.rejoin': 'Подключиться снова',

  'expert.title': 'Profstage — эксперт',
  'expert.heading': 'Комната',
  'expert.room': '{room}',
  'expert.controls': 'Управление просмотром',
  'expert.hint': 'Щёлкните по участнику, чтобы увеличить; Esc — вернуться.',
  'expert.empty': 'В комнате пока нет участников.',

  'organiser.bar': 'Трансляция организатора',

  'status.idle': 'Не подключено',
  'status.connecting': 'Подключение…',
  'status.media_connecting': 'Установка видеосвязи…',
  'status.connected': 'Подключено',
  'status.interrupted': 'Связь прервалась, восстанавливаем…',
  'status.failed': 'Соединение потеряно',
  'status.left': 'Вы вышли',

  'tile.mute': 'Выключить звук',
  'tile.unmute': 'Включить звук',
  'tile.state.connecting': 'Подключение',
  'tile.state.live': 'В эфире',
  'tile.state.no-video': 'Нет видео',
  'tile.state.disconnected': 'Нет связи',

  'capture.denied.camera':
    'Нет доступа к камере. Разрешите доступ в настройках браузера и обновите страницу.',
  'capture.denied.microphone':
    'Нет доступа к микрофону. Разрешите доступ в настройках браузера и обновите страницу.',
  'capture.denied.screen': 'Показ экрана отменён или запрещён.',
  'capture.missing.camera': 'Камера не найдена. Подключите камеру и обновите страницу.',
  'capture.missing.microphone': 'Микрофон не найден. Подключите микрофон и обновите страницу.',
  'capture.missing.screen': 'Нечего показать: браузер не нашёл экранов и окон.',
  'capture.busy.camera': 'Камера занята другой программой. Закройте её и обновите страницу.',
  'capture.busy.microphone':
    'Микрофон занят другой программой. Закройте её и обновите страницу.',
  'capture.busy.screen': 'Не удалось захватить экран. Попробуйте ещё раз.',
  'capture.failed.camera': 'Не удалось включить камеру.',
  'capture.failed.microphone': 'Не удалось включить микрофон.',
  'capture.failed.screen': 'Не удалось начать показ экрана.',
  'capture.insecure':
    'Браузер даёт доступ к камере только по защищённому адресу (https). Обратитесь к организатору.',

  'connection.unreachable':
    'Не удалось подключиться к серверу. Проверьте интернет и попробуйте снова.',
  'connection.lost': 'Связь с сервером потеряна. Подключитесь снова.',
  'connection.publishing_failed':
    'Видеосвязь с сервером не установилась. Проверьте сеть и подключитесь снова.',
  'connection.receiving_failed':
    'Видео от сервера не доходит. Проверьте сеть и подключитесь снова.',
  'connection.answer_timeout': 'Сервер не ответил вовремя. Попробуйте ещё раз.',

  'server_error.invalid_message': 'Сервер не понял сообщение клиента: {message}',
  'server_error.unknown_type': 'Сервер не знает такого сообщения: {message}',
  'server_error.message_too_large': 'Сообщение слишком большое: {message}',
  'server_error.unsupported_protocol':
    'Версия клиента не подходит к серверу. Обновите страницу.',
  'server_error.not_joined': 'Клиент ещё не вошёл в комнату: {message}',
  'server_error.already_joined': 'Клиент уже в комнате: {message}',
  'server_error.invalid_token':
    'Ссылка недействительна. Попросите у организатора новую.',
  'server_error.token_expired':
    'Срок действия ссылки истёк. Попросите у организатора новую.',
  'server_error.unknown_room': 'Такой комнаты нет.',
  'server_error.session_replaced':
    'Вы вошли в эту комнату с другой страницы или устройства, поэтому здесь сеанс завершён.',
  'server_error.forbidden': 'Вашей роли это действие недоступно: {message}',
  'server_error.invalid_sdp': 'Сервер отклонил описание медиапотока: {message}',
  'server_error.no_media': 'Нечего передавать: нет ни камеры, ни микрофона. ({message})',
  'server_error.unsupported_codec': 'Браузер не поддерживает нужные кодеки: {message}',
  'server_error.no_pending_offer': 'Сервер не ждал ответа: {message}',
  'server_error.rate_limited': 'Слишком много запросов. Подождите немного.',
  'server_error.internal': 'Внутренняя ошибка сервера. Попробуйте ещё раз.',
  'server_error.unknown': 'Ошибка сервера: {message}',
};
