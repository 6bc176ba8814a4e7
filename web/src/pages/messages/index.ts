// The messaging screen, loaded on first use (with its stylesheet).
import './messages.css';
export { MessagesPage } from './Messages';
