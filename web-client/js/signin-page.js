// signin.html: an organiser signs in with login and password and goes to the console.

import { post } from './contest-api.js';
import { clearFormErrors, showFormErrors } from './form-errors.js';
import { initLanguage } from './i18n.js';

const form = document.getElementById('signin-form');

async function submit(event) {
  event.preventDefault();
  clearFormErrors(form);
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await post('/session', {
      login: form.elements.login.value.trim(),
      password: form.elements.password.value,
    });
    window.location.assign('console.html');
  } catch (error) {
    form.elements.password.value = '';
    showFormErrors(form, error);
    button.disabled = false;
  }
}

initLanguage();
form.addEventListener('submit', submit);
